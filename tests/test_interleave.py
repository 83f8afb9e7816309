"""interleave.py: rows are exact copies of corpus stories, languages switch only between sentences
with the asked probabilities, no padding, and batches are a pure function of (seed, rank, step).

The test corpus gives every token of every sentence in every language its own id, so each token of a
row tells where it came from (language, sentence, position) and a row can be rebuilt from the corpus.
"""
import numpy as np
import pytest

import tokenbin
from interleave import SWITCHES, Mixture, Sampler, mixture_meta

VOCAB = 60000  # room for globally unique ids; the boundary token sits just above, as with Mimi's 2048
BND = VOCAB
LANGS = ["en", "fr"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """200 stories of 2-10 sentences; FR sentences a bit longer than EN, as in speech."""
    rng = np.random.default_rng(0)
    sentences, story_starts, next_id = {"en": [], "fr": []}, [], 1
    for _ in range(200):
        story_starts.append(len(sentences["en"]))
        for _ in range(rng.integers(2, 11)):
            for lang, (lo, hi) in zip(LANGS, [(1, 13), (2, 17)]):
                n = int(rng.integers(lo, hi))
                sentences[lang].append(np.arange(next_id, next_id + n))
                next_id += n
    assert next_id < VOCAB
    d = str(tmp_path_factory.mktemp("corpus"))
    tokenbin.write_split(d, "train", sentences, story_starts, VOCAB)
    tokenbin.write_meta(d, {"vocab_size": VOCAB, "languages": LANGS})
    split = tokenbin.load_split(d, "train")
    # provenance of every id: language, sentence, position in the sentence (-1: not a corpus token)
    lang_of, sent_of, pos_of = (np.full(VOCAB + 1, -1) for _ in range(3))
    for l, lang in enumerate(LANGS):
        for j, sent in enumerate(sentences[lang]):
            lang_of[sent], sent_of[sent], pos_of[sent] = l, j, np.arange(len(sent))
    story_of = np.repeat(np.arange(split.n_stories), np.diff(split.stories))
    return dict(split=split, sentences=sentences, lang_of=lang_of, sent_of=sent_of, pos_of=pos_of,
                story_of=story_of)


def make(c, seq_len=255, batch_size=64, **kw):
    return Sampler(c["split"], seq_len, batch_size, boundary_token=BND, **kw)


def parse(c, row):
    """Split a full row (seq_len+1 tokens) into stories, checking that it is a piece of the stream
    boundary + story sentences: sentences in order and in one language each, every story after the
    first from its first sentence and boundary, the first one (entered mid-stream when the row does
    not start with a boundary) from any token of any of its sentences, every story but the last whole.
    Returns ([(story, [(sentence, lang), ...]), ...], expected language of each token)."""
    stories, sentences = c["split"].stories, c["sentences"]
    segs, lang = [], np.full(len(row), -1)
    if row[0] != BND:
        segs.append((None, []))  # the story the row starts in
    t = 0
    while t < len(row):
        if row[t] == BND:
            segs.append((None, []))
            t += 1
            continue
        l, j, p = c["lang_of"][row[t]], c["sent_of"][row[t]], c["pos_of"][row[t]]
        assert l >= 0, f"token {row[t]} is neither a corpus token nor the boundary (padding?)"
        assert p == 0 or t == 0, "a sentence must be copied from its first token (but the row's first)"
        sent = sentences[LANGS[l]][j]
        piece = row[t:t + len(sent) - p]
        np.testing.assert_array_equal(piece, sent[p:p + len(piece)])  # whole sentence, one language
        segs[-1][1].append((int(j), int(l)))
        lang[t:t + len(piece)] = l
        t += len(sent) - p
    for i, (_, sents) in enumerate(segs):
        js = [j for j, _ in sents]
        if not js:
            assert i == len(segs) - 1, "only the last story may be cut before its first sentence"
            continue
        s = int(c["story_of"][js[0]])
        if i > 0 or row[0] == BND:
            assert js[0] == stories[s], "a story after a boundary is packed from its first sentence"
        assert js == list(range(js[0], js[0] + len(js))), "sentences in story order"
        if i < len(segs) - 1:
            assert js[-1] == stories[s + 1] - 1, "only the last story is cut"
        segs[i] = (s, sents)
    # a boundary takes the language of the sentence after it (when the row still holds it)
    for t in np.flatnonzero(row == BND)[::-1]:
        lang[t] = lang[t + 1] if t + 1 < len(row) else -1
    return segs, lang


def rebuild(c, row, segs):
    """The row rebuilt from the corpus alone: its stories' sentences, a boundary before each story
    but a first one entered mid-stream, which starts at the row's first token."""
    parts = []
    for i, (_, sents) in enumerate(segs):
        if i > 0 or row[0] == BND:
            parts.append([BND])
        parts += [c["sentences"][LANGS[l]][j] for j, l in sents]
    skip = 0 if row[0] == BND else c["pos_of"][row[0]]
    return np.concatenate(parts)[skip:skip + len(row)]


def rows_of(x, y):
    return np.concatenate([x[:, :1], y], axis=1)  # (B, T+1): the packed rows


def sentence_langs(c, sampler, steps):
    out = []
    for step in range(steps):
        x, y, _ = sampler.get_batch(step)
        for row in rows_of(x, y):
            out += [l for _, sents in parse(c, row)[0] for _, l in sents]
    return np.array(out)


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_interleave_share_of_fr_sentences(corpus, p):
    langs = sentence_langs(corpus, make(corpus, p_fr=p, seed=1), steps=8)
    assert len(langs) >= 10_000
    assert abs(langs.mean() - p) < 0.02, (p, langs.mean())


def test_every_row_is_an_exact_copy_with_correct_languages(corpus):
    sampler = make(corpus, seed=2)
    for step in range(3):
        x, y, lang = sampler.get_batch(step)
        assert x.dtype == y.dtype == np.int64 and lang.dtype == np.int8
        assert x.shape == y.shape == lang.shape == (64, 255)
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        for b, row in enumerate(rows_of(x, y)):
            segs, expect = parse(corpus, row)  # raises on padding, foreign tokens, broken order
            np.testing.assert_array_equal(lang[b], expect[:-1])
            np.testing.assert_array_equal(row, rebuild(corpus, row, segs))
        mixed = [len({l for _, ss in parse(corpus, r)[0] for _, l in ss}) for r in rows_of(x, y)]
        assert max(mixed) == 2, "interleaved rows mix languages"


def test_switches_only_at_sentence_boundaries(corpus):
    x, y, lang = make(corpus, seed=3).get_batch(0)
    n_switch = 0
    for row, lg in zip(rows_of(x, y), lang):
        pos, sent, lo = corpus["pos_of"][row], corpus["sent_of"][row], corpus["lang_of"][row]
        for t in range(len(row) - 1):
            if row[t] != BND and row[t + 1] != BND and lo[t] != lo[t + 1]:
                n_switch += 1
                assert pos[t + 1] == 0 and sent[t + 1] == sent[t] + 1, "switch inside a sentence"
                assert pos[t] == len(corpus["sentences"][LANGS[lo[t]]][sent[t]]) - 1
        # and the returned language array changes only where a sentence or story starts
        changes = np.flatnonzero(np.diff(lg.astype(int))) + 1
        assert np.all((pos[changes] == 0) | (row[changes] == BND))
    assert n_switch > 100


def test_mono_one_language_per_row_and_probs(corpus):
    for probs, fr_share in [({"en": 1.0}, 0.0), ({"fr": 1.0}, 1.0), ({"en": 0.3, "fr": 0.7}, 0.7)]:
        sampler = make(corpus, seq_len=63, batch_size=256, mode="mono", lang_probs=probs, seed=4)
        row_langs = []
        for step in range(4):
            x, y, lang = sampler.get_batch(step)
            for row, lg in zip(rows_of(x, y), lang):
                segs, _ = parse(corpus, row)
                langs = {l for _, sents in segs for _, l in sents}
                assert len(langs) == 1, "mono row mixes languages"
                assert set(lg.tolist()) == langs
                row_langs.append(langs.pop())
        assert abs(np.mean(row_langs) - fr_share) < 0.04, (probs, np.mean(row_langs))


def test_switch_story_keeps_one_language_per_story(corpus):
    sampler = make(corpus, switch="story", p_fr=0.3, seed=5)
    story_langs, rows_mixed = [], 0
    for step in range(6):
        x, y, _ = sampler.get_batch(step)
        for row in rows_of(x, y):
            segs, _ = parse(corpus, row)
            langs = [{l for _, l in sents} for _, sents in segs if sents]
            assert all(len(ls) == 1 for ls in langs), "a story switched language"
            story_langs += [ls.pop() for ls in langs]
            rows_mixed += len(set(story_langs[-len(langs):])) > 1
    assert len(story_langs) > 1500 and abs(np.mean(story_langs) - 0.3) < 0.03
    assert rows_mixed > 0, "different stories of one row draw their languages independently"


def test_deterministic_in_seed_rank_step(corpus):
    a = make(corpus, seed=7, rank=1, world_size=2).get_batch(5)
    b = make(corpus, seed=7, rank=1, world_size=2).get_batch(5)  # a fresh sampler: no hidden state
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    for other in [make(corpus, seed=7, rank=0, world_size=2).get_batch(5),
                  make(corpus, seed=7, rank=1, world_size=2).get_batch(6),
                  make(corpus, seed=8, rank=1, world_size=2).get_batch(5)]:
        assert not np.array_equal(a[0], other[0])
    # the rows of a step do not depend on how they are split over ranks (same rows per step)
    one = make(corpus, batch_size=8, seed=7).get_batch(3)
    two = [make(corpus, batch_size=4, seed=7, rank=r, world_size=2).get_batch(3) for r in (0, 1)]
    for i in range(3):
        np.testing.assert_array_equal(one[i], np.concatenate([two[0][i], two[1][i]]))


def test_state_dict_checks_resume(corpus):
    sampler = make(corpus, batch_size=8, seed=7, p_fr=0.3)
    state = sampler.state_dict()
    make(corpus, batch_size=8, seed=7, p_fr=0.3).load_state_dict(state)
    make(corpus, batch_size=4, world_size=2, seed=7, p_fr=0.3).load_state_dict(state)  # same rows/step
    for kw, word in [(dict(seed=8, p_fr=0.3), "seed"), (dict(seed=7, p_fr=0.5), "lang_probs"),
                     (dict(seed=7, p_fr=0.3, mode="mono"), "mode"),
                     (dict(seed=7, p_fr=0.3, switch="story"), "switch")]:
        with pytest.raises(ValueError, match=word):
            make(corpus, batch_size=8, **kw).load_state_dict(state)
    with pytest.raises(ValueError, match="rows per step"):
        make(corpus, batch_size=4, seed=7, p_fr=0.3).load_state_dict(state)


def test_bad_settings_are_clear_errors(corpus):
    for kw in [dict(mode="bilingual"), dict(switch="word"), dict(p_fr=1.5), dict(rank=2, world_size=2),
               dict(lang_probs={"en": 0.5, "de": 0.5}), dict(lang_probs={"en": 0.5, "fr": 0.6})]:
        with pytest.raises(ValueError, match="interleave.py"):
            make(corpus, **kw)


# ---------------------------------------------------------------------------- packing: even coverage
# A corpus whose every token says where it is: 16 * story + sentence position in the story (EN), the
# same + FR_BASE (FR). Counting token values in rows counts coverage per position and per story.
FR_BASE, POS_BITS = 8000, 16


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    """300 stories of 1-12 sentences, EN 1-14 and FR 2-18 tokens a sentence."""
    rng = np.random.default_rng(1)
    sentences, starts = {"en": [], "fr": []}, []
    for s in range(300):
        starts.append(len(sentences["en"]))
        for k in range(rng.integers(1, 13)):
            sentences["en"].append(np.full(rng.integers(1, 15), POS_BITS * s + k))
            sentences["fr"].append(np.full(rng.integers(2, 19), FR_BASE + POS_BITS * s + k))
    d = str(tmp_path_factory.mktemp("coded"))
    tokenbin.write_split(d, "train", sentences, starts, VOCAB)
    tokenbin.write_meta(d, {"vocab_size": VOCAB, "languages": LANGS})
    held = {l: np.bincount(np.concatenate(sentences[l]) - (FR_BASE if l == "fr" else 0),
                           minlength=POS_BITS * 300) for l in LANGS}  # corpus tokens per code
    return tokenbin.load_split(d, "train"), held


def coverage(split, held, n_tokens=1_500_000, seq_len=127, **kw):
    """-> (rate per sentence position (POS_BITS,), rate per story (300,)) of the sampled rows: tokens
    seen / tokens the corpus holds (weighted by the sampler's lang_probs), normalised to mean 1."""
    sampler = Sampler(split, seq_len, 256, boundary_token=BND, **kw)
    seen = np.zeros(POS_BITS * 300)
    for step in range(n_tokens // (256 * seq_len)):
        x = sampler.get_batch(step)[0]
        x = x[x != BND]
        seen += np.bincount(x % FR_BASE, minlength=len(seen))
    expect = sum(sampler.lang_probs[l] * held[l] for l in LANGS)
    by_pos = [seen.reshape(300, POS_BITS).sum(0), expect.reshape(300, POS_BITS).sum(0)]
    by_story = [seen.reshape(300, POS_BITS).sum(1), expect.reshape(300, POS_BITS).sum(1)]
    rates = []
    for got, want in (by_pos, by_story):
        keep = want > 0
        rates.append((got[keep] / got.sum()) / (want[keep] / want.sum()))
    return rates


@pytest.mark.parametrize("kw", [dict(mode="mono", lang_probs={"en": 0.5, "fr": 0.5}),
                                dict(mode="mono", lang_probs={"en": 1.0}),
                                dict(mode="interleave", p_fr=0.3),
                                dict(mode="interleave", p_fr=0.5, switch="story")])
def test_every_sentence_position_and_story_covered_alike(coded, kw):
    split, held = coded
    by_pos, by_story = coverage(split, held, seed=11, **kw)
    # position 11 is held by 1/12 of the stories: its rate is the noisiest, ~1.5% sd here
    assert by_pos.min() / by_pos.max() > 0.95, by_pos  # story-start packing: ~0.6 (seq 127)
    # every story equally likely per token: long stories are not under-seen (nor over-seen)
    long = np.array([held["en"][POS_BITS * s:POS_BITS * (s + 1)].sum() for s in range(300)])
    long = long > np.median(long)
    assert abs(by_story[long].mean() / by_story[~long].mean() - 1) < 0.03, by_story
    assert np.all(by_story > 0.5), "every story is drawn, none starved"


def test_rows_start_anywhere_in_the_stream(coded):
    """A row's first token is a uniform point of the stream: a boundary for the share of boundaries
    among stream tokens (weighted by lang_probs), otherwise any position of any sentence."""
    split, held = coded
    sampler = Sampler(split, 31, 512, mode="mono", lang_probs={"en": 1.0}, boundary_token=BND, seed=3)
    firsts = np.concatenate([sampler.get_batch(step)[0][:, 0] for step in range(8)])
    share = split.n_stories / (split.n_stories + len(split.tokens["en"]))
    assert abs(np.mean(firsts == BND) - share) < 0.01
    within = [int(t) for t in firsts if t != BND]  # not always a sentence start
    assert len(set(within)) > 1000


# ---------------------------------------------------------------------------- unpaired corpora
def write_unpaired(d, langs_stories, first_id=1, vocab=VOCAB, seed=0):
    """{lang: n_stories} -> an unpaired corpus (own stories per language), every token a unique id.
    Returns {id: (lang, sentence, position, story, last sentence of its story?, sentence length)}."""
    rng = np.random.default_rng(seed)
    sentences, starts, where, nid = {}, {}, {}, first_id
    for lang, n in langs_stories.items():
        sentences[lang], starts[lang] = [], []
        for s in range(n):
            starts[lang].append(len(sentences[lang]))
            k_max = int(rng.integers(1, 6))
            for k in range(k_max):
                m = int(rng.integers(1, 9))
                sentences[lang].append(np.arange(nid, nid + m))
                for p in range(m):
                    where[nid + p] = (lang, len(sentences[lang]) - 1, p, s, k == k_max - 1, m)
                nid += m
    assert nid < vocab
    tokenbin.write_split(d, "train", sentences, starts, vocab, paired=False)
    tokenbin.write_meta(d, {"vocab_size": vocab, "languages": list(langs_stories), "paired": False})
    return where


def assert_stream(row, where):
    """row is a window of boundary + whole stories: each token follows the one before it in its
    sentence, or starts the next sentence of the same story, or a boundary ends a story and the next
    token starts a story's first sentence. Returns the languages met."""
    langs = set()
    for t in range(len(row)):
        if row[t] == BND:
            assert t == 0 or where[row[t - 1]][4] and where[row[t - 1]][2] == where[row[t - 1]][5] - 1, \
                "a boundary only after a story's last token"
            continue
        lang, j, p, s, _, _ = where[row[t]]  # KeyError: padding or a foreign token
        langs.add(lang)
        if t == 0:
            continue
        if row[t - 1] == BND:
            assert p == 0 and (j == 0 or where[row[t] - 1][4]), "a story starts at its first sentence"
            continue
        lang0, j0, p0, s0, _, m0 = where[row[t - 1]]
        assert lang == lang0, "mono: one language per row"
        if p0 < m0 - 1:
            assert (j, p) == (j0, p0 + 1), "a sentence is copied whole, in order"
        else:
            assert p == 0 and j == j0 + 1 and s == s0, "the next sentence of the same story"
    return langs


def test_mono_on_unpaired_and_one_language_corpora(tmp_path):
    where = write_unpaired(str(tmp_path / "u"), {"en": 40, "fr": 25})
    split = tokenbin.load_split(str(tmp_path / "u"), "train")
    assert not split.paired
    sampler = Sampler(split, 40, 64, mode="mono", lang_probs={"en": 0.5, "fr": 0.5}, boundary_token=BND)
    row_langs = []
    for step in range(4):
        x, y, lang = sampler.get_batch(step)
        for row, lg in zip(rows_of(x, y), lang):
            (l,) = assert_stream(row, where)
            row_langs.append(l)
            assert set(lg.tolist()) == {split.langs.index(l)}
    assert abs(np.mean(np.array(row_langs) == "fr") - 0.5) < 0.08
    assert sampler.state_dict()["n_stories"] == {"en": 40, "fr": 25}
    # a one-language corpus: EN pretraining data such as LibriHeavy
    where = write_unpaired(str(tmp_path / "en"), {"en": 30})
    one = tokenbin.load_split(str(tmp_path / "en"), "train")
    x, y, lang = Sampler(one, 40, 32, mode="mono", lang_probs={"en": 1}, boundary_token=BND).get_batch(0)
    for row in rows_of(x, y):
        assert assert_stream(row, where) == {"en"}
    assert not lang.any()
    with pytest.raises(ValueError, match="lang_probs"):  # the default p_fr needs fr
        Sampler(one, 40, 32, mode="mono", boundary_token=BND)


def test_interleave_refuses_an_unpaired_corpus(tmp_path):
    write_unpaired(str(tmp_path / "u"), {"en": 10, "fr": 10})
    split = tokenbin.load_split(str(tmp_path / "u"), "train")
    for switch in SWITCHES:
        with pytest.raises(ValueError, match=f"{tmp_path / 'u'}.*unpaired.*paired corpus"):
            Sampler(split, 40, 4, mode="interleave", switch=switch, boundary_token=BND)


# ---------------------------------------------------------------------------- corpus mixtures
@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """Corpus `books`: EN only, ids from 1; corpus `tales`: EN and FR (unpaired), ids from 20000."""
    root = tmp_path_factory.mktemp("mix")
    where = write_unpaired(str(root / "books"), {"en": 40}, first_id=1, seed=1)
    where.update(write_unpaired(str(root / "tales"), {"en": 30, "fr": 30}, first_id=20000, seed=2))
    splits = {n: tokenbin.load_split(str(root / n), "train") for n in ("books", "tales")}
    return root, splits, where


def mix(splits, weights, **kw):
    return Mixture(splits, weights, 40, 128, boundary_token=BND, mode="mono", **kw)


def test_mixture_token_shares_follow_the_weights(two):
    _, splits, where = two
    m = mix(splits, {"books": 56, "tales": 20}, lang_probs={"en": 1.0}, seed=3)
    assert m.langs == ["en", "fr"]
    books = n = 0
    for step in range(80):  # 10,240 rows
        x, y, lang = m.get_batch(step)
        for row, lg in zip(rows_of(x, y), lang):
            assert assert_stream(row, where) == {"en"}  # pretraining: EN rows from either corpus
            assert not lg.any()
            from_books = row[row != BND] < 20000
            assert from_books.all() or not from_books.any(), "a row comes from one corpus"
            books += len(row) * from_books[0]  # its tokens, boundaries included
            n += len(row)
    assert abs(books / n - 56 / 76) < 0.02, books / n


def test_mixture_language_ids_and_errors(two, corpus):
    root, splits, where = two
    # every corpus draws its rows with the same lang_probs, so each must hold its languages
    with pytest.raises(ValueError, match="books.*lang_probs"):
        mix(splits, {"books": 1, "tales": 1}, lang_probs={"en": 0.5, "fr": 0.5})
    m = Mixture({"tales": splits["tales"]}, {"tales": 1}, 40, 64, boundary_token=BND, mode="mono",
                lang_probs={"en": 0.5, "fr": 0.5})
    x, y, lang = m.get_batch(0)
    for row, lg in zip(rows_of(x, y), lang):
        (l,) = assert_stream(row, where)
        assert set(lg.tolist()) == {m.langs.index(l)}
    # interleave needs every corpus paired
    with pytest.raises(ValueError, match="books.*unpaired"):
        Mixture({"stories": corpus["split"], "books": splits["books"]}, {"stories": 1, "books": 1}, 40, 8,
                boundary_token=BND, mode="interleave")
    for bad in ({"books": 0, "tales": 1}, {"books": 1}, {"books": -1, "tales": 1}):
        with pytest.raises(ValueError, match="weight > 0"):
            mix(splits, bad, lang_probs={"en": 1.0})
    # corpus directories: one vocabulary, distinct names; languages in order of first appearance
    names, meta = mixture_meta([str(root / "books"), str(root / "tales")])
    assert names == {str(root / "books"): "books", str(root / "tales"): "tales"}
    assert meta["vocab_size"] == VOCAB and meta["languages"] == ["en", "fr"]
    write_unpaired(str(root / "other" / "books"), {"en": 5}, vocab=VOCAB)
    with pytest.raises(ValueError, match="distinct"):
        mixture_meta([str(root / "books"), str(root / "other" / "books")])
    write_unpaired(str(root / "small"), {"en": 5}, vocab=30000)
    with pytest.raises(ValueError, match="vocab"):
        mixture_meta([str(root / "books"), str(root / "small")])


def test_mixture_deterministic_and_resume_checks_the_mix(two):
    _, splits, _ = two
    kw = dict(lang_probs={"en": 1.0})
    a = mix(splits, {"books": 3, "tales": 1}, seed=7, **kw).get_batch(5)
    b = mix(splits, {"books": 3, "tales": 1}, seed=7, **kw).get_batch(5)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], mix(splits, {"books": 3, "tales": 1}, seed=8, **kw).get_batch(5)[0])
    one = Mixture(splits, {"books": 3, "tales": 1}, 40, 8, seed=7, boundary_token=BND, mode="mono", **kw)
    two_ranks = [Mixture(splits, {"books": 3, "tales": 1}, 40, 4, seed=7, rank=r, world_size=2,
                         boundary_token=BND, mode="mono", **kw).get_batch(3) for r in (0, 1)]
    for i in range(3):
        np.testing.assert_array_equal(one.get_batch(3)[i], np.concatenate([two_ranks[0][i], two_ranks[1][i]]))
    state = one.state_dict()
    Mixture(splits, {"books": 6, "tales": 2}, 40, 4, seed=7, world_size=2, boundary_token=BND, mode="mono",
            **kw).load_state_dict(state)  # the same shares, the same rows per step
    for weights in ({"books": 1, "tales": 1}, {"books": 1}):
        with pytest.raises(ValueError, match="mix"):
            Mixture({n: splits[n] for n in weights}, weights, 40, 8, seed=7, boundary_token=BND,
                    mode="mono", **kw).load_state_dict(state)
    with pytest.raises(ValueError, match="seed"):
        mix(splits, {"books": 3, "tales": 1}, seed=8, **kw).load_state_dict(state)
    with pytest.raises(ValueError, match="mix"):  # a single-corpus checkpoint is not a mixture's
        one.load_state_dict(Sampler(splits["books"], 40, 8, seed=7, boundary_token=BND, mode="mono",
                                    **kw).state_dict())
