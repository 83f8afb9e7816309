"""
data/toy_enfr/lexicon.py: read toy units back as words, so a reader sees what a model says.

    .venv/bin/python data/toy_enfr/lexicon.py data/toy_enfr 3     # val story 3: its text and its units read back

The toy corpus is made by prepare.py from a seed: rebuilding the same Voice (meta.json's seed and options)
gives the unit table (phone -> unit ids) and each language's pronunciations. Reading back:
  1. units -> phones (each phone owns n_variants ids; an id no phone owns is noise; the boundary token ends
     the story);
  2. sentences: cut at runs of >= 2 silence frames (a sentence ends with 1-2 silences and starts with one;
     a pause between words is a single one);
  3. per sentence and language, the best word sequence by Viterbi over the phones (silences dropped): a word
     costs MISS_COST per mismatched phone (at most a third of them) plus its word-bigram cost (-log P(word |
     previous word), from the frames' own text); a frame repeating a long-able phone (a vowel) may extend
     it for LONG_COST; an unexplained phone costs SKIP_COST ("?");
     the language with the lower cost wins (the two share only silence and 6 consonants). The bigram is
     needed: short words are homophones by construction (EN "sky" = "Leo", "a" = "Sam" = "Tom"), and only
     context tells them apart, for the model as for this reader.
facts() names what a sentence mentions: children's names and objects (the toy's entities).
"""
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
import prepare as P  # noqa: E402
import tokenbin  # noqa: E402

MISS_COST, LONG_COST, SKIP_COST = 3.0, 2.0, 6.0  # in nats, against the bigram's -log P


class ToyLexicon:
    """The corpus's Voice, rebuilt; decode() turns units into (lang, words) sentences."""

    def __init__(self, corpus_dir):
        meta = tokenbin.read_meta(corpus_dir)
        if not str((meta.get("tokenizer") or {}).get("name", "")).startswith("toy_enfr"):
            raise ValueError(f"{corpus_dir}/meta.json: not a toy_enfr corpus (tokenizer "
                             f"{meta.get('tokenizer')}); only prepare.py's units can be read back as words")
        for k, v in meta["config"].items():  # prepare.py reads its options as module globals
            setattr(P, k, v)
        self.meta, self.seed = meta, meta["seed"]
        self.voice = v = P.Voice(meta["seed"])
        r, texts = random.Random(0), {"en": [], "fr": []}  # every word the frames can produce, and bigrams
        for _ in range(1500):
            s = P.make_story(r)
            for variant in (0, 1):
                for lang in ("en", "fr"):
                    for text in P.sentences(dict(s, variants=[variant] * 9), lang):
                        texts[lang].append(v.word_ids(lang, text))
        self.unit2phone = np.full(P.VOCAB_SIZE + 1, -1)  # -1 noise; the boundary token: -2
        self.unit2phone[v.units.ravel()] = np.repeat(np.arange(v.units.shape[0]), v.units.shape[1])
        self.unit2phone[P.VOCAB_SIZE] = -2
        both = np.intersect1d(np.r_[v.cons["en"], v.vow["en"]], np.r_[v.cons["fr"], v.vow["fr"]])
        self.own = {lang: np.setdiff1d(np.r_[v.cons[lang], v.vow[lang]], both) for lang in ("en", "fr")}
        self.lex = {}
        for lang in ("en", "fr"):
            words = sorted(v.words[lang], key=v.words[lang].get)[1:]  # id order, without <sil>
            prons = [v.pron[lang][v.words[lang][w]] for w in words]
            table = np.full((len(words), P.max_phones), -9)
            for i, p in enumerate(prons):
                table[i, :len(p)] = p
            W = len(words)  # bigram costs (W+1, W): row W is the sentence start; ids shift by one (no <sil>)
            counts = np.full((W + 1, W), 0.01)
            for ids in texts[lang]:
                np.add.at(counts, (np.r_[W + 1, ids[:-1]] - 1, np.array(ids) - 1), 1.0)
            bigram = -np.log(counts / counts.sum(1, keepdims=True))
            self.lex[lang] = (words, table, np.array([len(p) for p in prons]), bigram)

    def val_stories(self):
        """The val split's story records, regenerated from the seed as prepare.py drew them."""
        r = random.Random(self.seed * 1000 + 1)
        return [P.make_story(r) for _ in range(self.meta["counts"]["val"]["stories"])]

    def segment(self, phones, lang):
        """Phones (no silence) -> (cost, words): Viterbi over (position, last word)."""
        words, table, lens, bigram = self.lex[lang]
        n, W = len(phones), len(words)
        best = np.full((n + 1, W + 1), np.inf)  # state W: no word yet
        best[0, W] = 0.0
        back = np.zeros((n + 1, W + 1, 2), np.int64)  # (previous position, previous state)
        padded = np.r_[phones, np.full(P.max_phones, -8)]
        for i in range(n):
            longable = self.voice.is_vowel[phones[i]] or P.cons_long > 0
            extra = LONG_COST if i > 0 and phones[i] == phones[i - 1] and longable else SKIP_COST
            skip = best[i] + extra  # a long phone's next frame, or an unexplained phone: the state stays
            better = skip < best[i + 1]
            best[i + 1, better], back[i + 1, better] = skip[better], np.c_[np.full(better.sum(), i),
                                                                               np.flatnonzero(better)]
            miss = ((table != padded[i:i + P.max_phones]) & (table >= 0)).sum(1)  # (W,) mismatched phones
            cand = np.flatnonzero((lens <= n - i) & (miss * 3 <= lens))  # (k,) words that fit here
            via = best[i][:, None] + bigram[:, cand]  # (W+1, k): over the previous word
            prev = via.argmin(0)
            cost = via[prev, np.arange(len(cand))] + MISS_COST * miss[cand]
            for w, p, c in zip(cand, prev, cost):
                j = i + lens[w]
                if c < best[j, w]:
                    best[j, w], back[j, w] = c, (i, p)
        out, j, st = [], n, int(best[n].argmin())
        cost = float(best[n, st])
        while j > 0:
            i, p = back[j, st]
            if not (p == st and j - i == 1 and best[j, st] in (best[i, p] + SKIP_COST, best[i, p] + LONG_COST)):
                out.append(words[st])
            elif best[j, st] == best[i, p] + SKIP_COST:
                out.append("?")
            j, st = int(i), int(p)
        return cost, out[::-1]

    def decode(self, units):
        """Units (1-D) -> [(lang, [words])], one entry per sentence; a boundary token ends the story."""
        ph = self.unit2phone[np.asarray(units, dtype=np.int64)]
        if (ph == -2).any():
            ph = ph[:np.argmax(ph == -2)]
        ph = ph[ph != -1]  # noise units
        sil = np.r_[ph == 0, False]
        cuts = [i for i in range(1, len(ph)) if sil[i] and sil[i - 1]]  # second silence of a run
        out = []
        for seg in np.split(ph, cuts):
            seg = seg[seg != 0]
            if len(seg) == 0:
                continue
            own = {lang: np.isin(seg, self.own[lang]).sum() for lang in ("en", "fr")}
            if min(own.values()) <= 0.1 * max(own.values()):  # clearly one language: read it in that one
                lang = max(own, key=own.get)
                out.append((lang, self.segment(seg, lang)[1]))
                continue
            (ce, we), (cf, wf) = self.segment(seg, "en"), self.segment(seg, "fr")
            out.append(("en", we) if ce <= cf else ("fr", wf))
        return out


def _entities():
    """(lang, phrase words, entity) for every object of every topic, longest phrases first."""
    out = []
    for t, T in enumerate(P.TOPIC_TABLES):
        for o, (en, fr, _) in enumerate(T["objects"]):
            out += [("en", en.split(), ("obj", t, o)), ("fr", P.WORD_RE.findall(fr), ("obj", t, o))]
    return sorted(out, key=lambda e: -len(e[1]))


ENTITIES = _entities()


def facts(words, lang):
    """Entities a sentence mentions: {("name", N), ("obj", topic, index)} (objects matched as whole phrases)."""
    words = [w.rstrip("'") for w in words]
    found = {("name", w) for w in words if w in P.NAMES}
    text = " " + " ".join(words) + " "
    for elang, phrase, ent in ENTITIES:
        p = " " + " ".join(x.rstrip("'") for x in phrase) + " "
        if elang == lang and p in text:
            found.add(ent)
            text = text.replace(p, " | ")  # "woolly hat" must not also count as "hat"
    return found


def text_words(text):
    return P.WORD_RE.findall(text)


if __name__ == "__main__":
    corpus, k = sys.argv[1] if len(sys.argv) > 1 else "data/toy_enfr", int(sys.argv[2]) if len(sys.argv) > 2 else 0
    lex = ToyLexicon(corpus)
    sp, story = tokenbin.load_split(corpus, "val"), lex.val_stories()[k]
    for lang in ("en", "fr"):
        units = np.concatenate([sp.sentence(lang, j) for j in range(sp.stories[k], sp.stories[k + 1])])
        print(f"[{lang}] text : " + " / ".join(P.sentences(story, lang)))
        print(f"[{lang}] heard: " + " / ".join(f"({lg}) " + " ".join(w) for lg, w in lex.decode(units)))
