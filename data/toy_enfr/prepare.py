"""
The bundled toy corpus: parallel EN-FR stories rendered as pseudo speech units, with sSC/sTC benches.

    .venv/bin/python data/toy_enfr/prepare.py                          # ~5 s on 2 cores, writes data/toy_enfr/
    .venv/bin/python data/toy_enfr/prepare.py --seed=1 --n_train_stories=2000 --out_dir=/tmp/toy

A synthetic teaching and test corpus, NOT speech: it lets the whole pipeline run offline on a laptop CPU
in minutes and shows the interleaving effect at toy scale. How it is made:

- Meaning first. A story is a language-neutral record: a topic (park, beach, farm, ... 10) fixing the places,
  objects and animals; a hero and a companion (a child or a relative); the hero's object and its colour; a
  place; an outcome (the object kept, or lost). Its 5-8 sentences form a causal chain: the hero, the object,
  going to the place with the companion, 0-3 topic sentences (scenery, an animal, the companion playing with
  a second object), the event, and an ending that agrees with all of it. Two renderings: FR sentence k
  translates EN sentence k in FR's own words and grammar (colour after the noun, agreement, au, du, l').
- "Pronunciation". Each word gets a fixed phone sequence (longer for longer spellings, mostly CV) from its
  language's phones: 38 EN, 36 FR, 6 consonants shared (as real languages share /m/ or /s/), plus silence.
  Every word holds a phone of its own language, so no EN word sounds like a FR word. Names are spelled
  alike but pronounced with each language's phones: real speech keeps names similar, a free cross-lingual
  cue that is off here so the cross-lingual benches measure what interleaving teaches (--shared_names=1).
- Units. Each phone owns n_variants ids of the 2048-unit inventory (seeded permutation; ids no phone owns
  appear only as noise): a canonical unit, and substitutes. Each speaker (16 per language, two per story
  and language, the narrator reading most sentences) says 2% of the phones with its own substitute; 0.5%
  of phones come out as another of their units. A phone lasts one frame, 5% of vowels 2-3; silence sits at
  sentence edges and 3% between words; 0.1% of units become random. A sentence (5-13 words, ~9) is 7-38
  units (mean ~17 EN, ~20 FR; a story ~115 EN / ~130 FR).
- Why so clean and dense (~2 units a word, where a 12.5 Hz tokenizer gives ~5 frames): the toy demo trains
  four models in minutes on a CPU, and what the benches test (the ending names the hero, object, place the
  story set up) is learnt by copying earlier words, which every unit of variation breaks (docs/LOG.md
  has the measurements behind these defaults).

By construction a model trained on monolingual EN and FR has nothing tying the two languages together (no
shared word sounds, separate voices; only silence and a few meaningless shared phones), so on the
cross-lingual benches it is at chance unless it aligns two isomorphic languages on its own; a model that saw
interleaved stories (language switching inside a story) sees which FR words continue which EN contexts.

Benches: n_bench stories from their own random stream (none is a train or val story), the same stories in
every direction (en, fr, en-fr = EN prompt and FR endings, fr-en); item texts are in bench/items.jsonl.
  ssc_*: prompt = the story minus its ending; good = the true ending; bad = the same ending with one
         fact swapped for a plausible one that contradicts the story: a name, companion, colour, object
         or place (of the same topic) that the story did not set up, or happy <-> sad against the event.
  stc_*: the same prompt and good ending; bad = the ending of another bench story, on another topic,
         read by the voice of the true ending (so a change of voice gives nothing away).
Minimal pairs, no prompt, toy analogues of sLM21's (ZeroSpeech 2021) EN sets, in EN and FR; each pair
is read by pair_voices speakers and grouped (bench/{name}.groups.npy) so that, as sLM21 does, a pair's
score is the mean over its voices and the set's score the mean over pairs. Texts: bench/pairs.jsonl.
  lex_*: a word of the language's lexicon vs a non-word of the same length in the same language's
         phones that is no word of it (sWUGGY's word vs non-word), each alone between silences.
  syn_*: a sentence of a held-out story vs the same words with two neighbours swapped (sBLiMP's
         grammatical vs ungrammatical), the same rendering of every word in both orders; the two
         swapped words never sound alike (short words can share their one phone: no pair at all).
meta.json "units" (tokenbin.py): "toy_enfr pseudo-units" and the sha256 of every option but the sizes
(unit_identity): a toy made with another --seed or pronunciation holds other units, and models say so.
"""
import hashlib
import json
import os
import random
import re
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import tokenbin  # noqa: E402  (the repo root's format reader/writer)

# ----------------------------------------------------------------------------- config (--key=value)
out_dir = os.path.dirname(os.path.abspath(__file__))  # data/toy_enfr/, wherever it is run from
seed = 1337
n_train_stories = 30000  # ~3.4M EN / 3.9M FR units
n_val_stories = 1000
n_bench = 500           # items per bench set (8 sets: ssc/stc x en, fr, en-fr, fr-en)
n_pairs = 250           # lex_* / syn_* minimal pairs per language, each read by pair_voices speakers
pair_voices = 2         # as sLM21: one pair, several voices; its score is the mean over its voices
n_speakers = 16         # voices per language
n_variants = 4          # unit ids per phone: the canonical one and n_variants-1 substitutes
# Speech-like variation, kept mild: each bit breaks the exact repeats a tiny model learns to copy (docstring).
# Noisier, 2x the tokens per word (too hard for a CPU-budget model, docs/LOG.md): --speaker_shift=0.2
# --variability=0.03 --noise=0.01 --pause_prob=0.1 --vowel_long=0.5 --cons_long=0.15 --slow_max=0.35
# --phones_per_letter=0.65 --max_phones=7
speaker_shift = 0.02    # share of phones a speaker says with its own substitute unit
variability = 0.005     # chance a phone comes out as a random one of its units (within a speaker)
noise = 0.001           # share of units replaced by a random unit
pause_prob = 0.03       # chance of a silence frame after a word
vowel_long = 0.05       # chance a vowel lasts a 2nd frame (a 3rd: a quarter of those)
cons_long = 0.0         # chance a consonant lasts a 2nd frame (a 3rd: a fifteenth of those)
slow_max = 0.0          # speakers are slower by up to this chance of one more frame on a vowel
phones_per_letter = 0.45  # word length in phones ~ spelling length x this, 1..max_phones
max_phones = 5
shared_names = 0        # 1: names sound the same in EN and FR (a free cross-lingual cue)
VOCAB_SIZE = 2048       # Mimi's inventory size; these units are not Mimi codes

# ----------------------------------------------------------------------------- the meaning tables
# one topic per block: places; objects; animals (EN=FR:gender); then its scene sentences (EN=FR)
TOPICS = """
park=parc:m; playground=aire de jeux:f; pond=étang:m; big tree=grand arbre:m
kite=cerf-volant:m; ball=ballon:m; bike=vélo:m; frisbee=frisbee:m; skateboard=planche à roulettes:f; jump rope=corde à sauter:f
duck=canard:m; squirrel=écureuil:m; dog=chien:m
the sun was shining on the grass=le soleil brillait sur l'herbe
many children were running and laughing=beaucoup d'enfants couraient et riaient
the wind was blowing in the trees=le vent soufflait dans les arbres

beach=plage:f; sea=mer:f; lighthouse=phare:m; dune=dune:f
bucket=seau:m; shovel=pelle:f; hat=chapeau:m; towel=serviette:f; shell=coquillage:m; boat=bateau:m
crab=crabe:m; seagull=mouette:f; fish=poisson:m
the sand was warm and soft=le sable était chaud et doux
the waves were big=les vagues étaient grandes
the sun was hot in the sky=le soleil était chaud dans le ciel

forest=forêt:f; cabin=cabane:f; hill=colline:f; old bridge=vieux pont:m
basket=panier:m; lantern=lanterne:f; map=carte:f; compass=boussole:f; stick=bâton:m; backpack=sac à dos:m
owl=hibou:m; fox=renard:m; deer=biche:f
the trees were tall=les arbres étaient grands
the birds were singing=les oiseaux chantaient
it was quiet and a little dark=il faisait calme et un peu sombre

farm=ferme:f; barn=grange:f; field=champ:m; orchard=verger:m
tractor=tracteur:m; apple=pomme:f; egg=œuf:m; pitchfork=fourche:f; wheelbarrow=brouette:f; lamb toy=agneau en peluche:m
cow=vache:f; pig=cochon:m; hen=poule:f
the cows were eating grass=les vaches mangeaient de l'herbe
the rooster sang very early=le coq chantait très tôt
the air smelled of hay=l'air sentait le foin

kitchen=cuisine:f; bakery=boulangerie:f; market=marché:m; dining room=salle à manger:f
cake=gâteau:m; spoon=cuillère:f; cup=tasse:f; pot=casserole:f; cookie=biscuit:m; apron=tablier:m
cat=chat:m; mouse=souris:f; parrot=perroquet:m
the oven was warm=le four était chaud
it smelled like fresh bread=ça sentait le pain frais
the table was full of food=la table était pleine de nourriture

school=école:f; classroom=classe:f; library=bibliothèque:f; gym=gymnase:m
book=livre:m; pencil=crayon:m; schoolbag=cartable:m; ruler=règle:f; notebook=cahier:m; globe=globe:m
hamster=hamster:m; rabbit=lapin:m; turtle=tortue:f
the teacher was smiling=la maîtresse souriait
the bell rang loudly=la cloche a sonné fort
the children sat at their desks=les enfants étaient assis à leurs bureaux

mountain=montagne:f; ski slope=piste:f; chalet=chalet:m; frozen lake=lac gelé:m
sled=luge:f; scarf=écharpe:f; mitten=moufle:f; woolly hat=bonnet:m; thermos=thermos:m; snowshoe=raquette:f
marmot=marmotte:f; eagle=aigle:m; ibex=bouquetin:m
the snow was cold=la neige était froide
the mountains were very high=les montagnes étaient très hautes
snowflakes were falling softly=des flocons tombaient doucement

river=rivière:f; mill=moulin:m; island=île:f; waterfall=cascade:f
fishing rod=canne à pêche:f; net=filet:m; canoe=canoë:m; paddle=pagaie:f; boot=botte:f; jar=bocal:m
frog=grenouille:f; heron=héron:m; beaver=castor:m
the water was clear and cold=l'eau était claire et froide
the current was strong=le courant était fort
there were stones under the water=il y avait des pierres sous l'eau

city=ville:f; zoo=zoo:m; museum=musée:m; station=gare:f
umbrella=parapluie:m; ticket=ticket:m; camera=appareil photo:m; toy car=petite voiture:f; whistle=sifflet:m; flag=drapeau:m
pigeon=pigeon:m; puppy=chiot:m; sparrow=moineau:m
the streets were busy and noisy=les rues étaient animées et bruyantes
there were tall buildings everywhere=il y avait de grands immeubles partout
many people were walking fast=beaucoup de gens marchaient vite

garden=jardin:m; greenhouse=serre:f; vegetable patch=potager:m; fountain=fontaine:f
watering can=arrosoir:m; flower=fleur:f; swing=balançoire:f; garden hose=tuyau:m; little rake=râteau:m; bird house=nichoir:m
ladybug=coccinelle:f; snail=escargot:m; butterfly=papillon:m
the flowers smelled very nice=les fleurs sentaient très bon
the grass was wet with rain=l'herbe était mouillée par la pluie
bees were buzzing everywhere=des abeilles bourdonnaient partout
"""
BOYS = "Tom Max Leo Sam Ben Hugo Noah Jack Paul Louis Adam Felix".split()
GIRLS = "Lily Emma Mia Zoe Lucy Anna Chloe Julie Nina Alice Clara Ella".split()
KIDS = {"m": BOYS, "f": GIRLS}
RELATIVES = [("mom", "maman", "f"), ("dad", "papa", "m"), ("grandma", "mamie", "f"), ("grandpa", "papi", "m")]
COLORS = [("red", "rouge", "rouge"), ("blue", "bleu", "bleue"), ("green", "vert", "verte"),  # EN, FR m, FR f
          ("yellow", "jaune", "jaune"), ("black", "noir", "noire"), ("white", "blanc", "blanche"),
          ("pink", "rose", "rose"), ("purple", "violet", "violette")]
TRAITS = [("kind", "gentil", "gentille"), ("curious", "curieux", "curieuse"), ("shy", "timide", "timide"),
          ("brave", "courageux", "courageuse"), ("cheerful", "joyeux", "joyeuse"), ("funny", "drôle", "drôle")]
# sentence frames, each a list of paraphrases (the same one in both languages); slots: see slots()
EN = {"intro": ["once upon a time there was a little {kid} named {N}", "{N} was a {trait} little {kid}"],
      "have": ["{N} had a {color} {obj}", "{N} loved {his} {color} {obj} very much"],
      "go": ["one day {he} took the {obj} to the {place} with {F}",
             "in the morning {N} and {F} went to the {place} with the {obj}"],
      "animal": ["there they saw {a_animal} near the {place2}"], "play": ["{F} played with a {color2} {obj2}"],
      "kept": ["{he} played with the {obj} all day long", "{F} and {N} had fun with the {obj} all day"],
      "lost": ["but {a_animal} took the {obj} and ran away", "but then {he} lost the {obj} near the {place2}"],
      "end": ["in the end {N} was {emo} about the {color} {obj}", "{N} and {F} went home {emo} from the {place}"]}
FR = {"intro": ["il était une fois {un_petit_kid} qui s'appelait {N}", "{N} était {un_petit_kid} {trait}"],
      "have": ["{N} avait {un_obj} {color}", "{N} aimait beaucoup {son_obj} {color}"],
      "go": ["un jour {il} a emporté {le_obj} {au_place} avec {F}",
             "le matin {N} et {F} sont {alles} {au_place} avec {le_obj}"],
      "animal": ["là-bas {ils} ont vu {un_animal} près {du_place2}"], "play": ["{F} a joué avec {un_obj2} {color2}"],
      "kept": ["{il} a joué avec {le_obj} toute la journée", "{F} et {N} se sont {amuses} avec {le_obj} toute la journée"],
      "lost": ["mais {un_animal} a pris {le_obj} et s'est {enfui}", "mais ensuite {il} a perdu {le_obj} près {du_place2}"],
      "end": ["à la fin {N} était {emo} à cause {du_obj} {color}", "{N} et {F} sont {rentres} {emos} {du_place}"]}
DIRECTIONS = {"en": ("en", "en"), "fr": ("fr", "fr"), "en-fr": ("en", "fr"), "fr-en": ("fr", "en")}  # prompt, endings
END_FACTS = [("name", "emo", "color", "obj"), ("name", "friend", "emo", "place")]  # what each ending states


def _entries(line):  # "kite=cerf-volant:m; ..." -> [("kite", "cerf-volant", "m"), ...]
    return [(e.split("=")[0],) + tuple(e.split("=")[1].rsplit(":", 1)) for e in line.split("; ")]


TOPIC_TABLES = [dict(places=_entries(p), objects=_entries(o), animals=_entries(a),
                     scenes=[tuple(x.split("=")) for x in sc])
                for p, o, a, *sc in (block.split("\n") for block in TOPICS.strip().split("\n\n"))]
NAMES = set(BOYS + GIRLS)
SHARED_PHONES = np.arange(19, 25)  # consonant phone ids both languages use (see Voice)
VOWELS = tuple("aeiouéèêâîœ")  # h counts as a consonant: every h-word here is "h aspiré"
WORD_RE = re.compile(r"[^\s']+'?")  # FR "l'herbe" -> "l'", "herbe": the elided article is its own word


def fr_det(entry, det):
    """French determiner + noun of a table entry (EN, FR, gender): agreement, elision, contraction."""
    _, noun, g = entry
    plain = dict(le=("le", "la"), un=("un", "une"), au=("au", "à la"), du=("du", "de la"), son=("son", "sa"))
    elided = dict(le="l'", au="à l'", du="de l'", son="son")  # before a vowel, in both genders
    return f"{elided[det] if noun.startswith(VOWELS) and det in elided else plain[det][g == 'f']} {noun}"


# ----------------------------------------------------------------------------- stories (meaning)

def make_story(r, topic=None):
    """One language-neutral story record, drawn with random.Random r."""
    t = r.randrange(len(TOPIC_TABLES)) if topic is None else topic
    hero_g = r.choice("mf")
    hero = r.choice(KIDS[hero_g])
    if r.random() < 0.6:  # the companion: another child or a relative
        fg = r.choice("mf")
        friend = ("name", r.choice([n for n in KIDS[fg] if n != hero]), fg)
    else:
        rel = RELATIVES[r.randrange(4)]
        friend = ("rel", rel, rel[2])
    (o, o2), (p, p2), (c, c2) = r.sample(range(6), 2), r.sample(range(4), 2), r.sample(range(len(COLORS)), 2)
    fillers = r.sample(["scene0", "scene1", "scene2", "animal", "play"], r.randint(0, 3))
    kept = r.random() < 0.5
    frames = ["intro", "have", "go"] + fillers + ["kept" if kept else "lost", "end"]
    voices, share = {}, r.uniform(0.5, 0.9)  # two voices per language; the narrator reads most sentences
    for lang in ("en", "fr"):
        narr, other = r.sample(range(n_speakers), 2)
        voices[lang] = [narr if k == 0 or r.random() < share else other for k in range(len(frames))]
    return dict(topic=t, hero=hero, hero_g=hero_g, friend=friend, obj=o, obj2=o2, place=p, place2=p2,
                color=c, color2=c2, animal=r.randrange(3), kept=kept, trait=r.randrange(len(TRAITS)),
                frames=frames, voices=voices, variants=[r.randrange(2) for _ in range(9)])  # [8]: ending


def corrupt(story, r):
    """The sSC wrong ending: the true ending with one fact swapped for a plausible, contradicting one."""
    bad = dict(story, frames=["end"], voices={lang: v[-1:] for lang, v in story["voices"].items()})
    fact = r.choice(END_FACTS[story["variants"][8]])
    if fact == "emo":
        bad["kept"] = not story["kept"]  # happy <-> sad, against the event just told
    elif fact == "name":
        bad["hero"] = r.choice([n for n in KIDS[story["hero_g"]] if n not in (story["hero"], story["friend"][1])])
    elif fact == "friend":
        kind, who, g = story["friend"]
        if kind == "name":
            bad["friend"] = ("name", r.choice([n for n in KIDS[g] if n not in (who, story["hero"])]), g)
        else:
            bad["friend"] = ("rel", next(x for x in RELATIVES if x[2] == g and x != who), g)
    else:  # a colour, object or place (of the topic) that the story never mentioned
        n = len(COLORS) if fact == "color" else 6 if fact == "obj" else 4
        bad[fact] = r.choice([i for i in range(n) if i not in (story[fact], story[fact + "2"])])
    return bad


def slots(s, lang):
    """The values of the frames' {slots} for story s, in the words and agreement of one language."""
    T, m, kept = TOPIC_TABLES[s["topic"]], s["hero_g"] == "m", s["kept"]
    kind, who, fg = s["friend"]
    obj, obj2, animal = T["objects"][s["obj"]], T["objects"][s["obj2"]], T["animals"][s["animal"]]
    pl, pl2 = T["places"][s["place"]], T["places"][s["place2"]]
    if lang == "en":
        return dict(N=s["hero"], kid="boy" if m else "girl", trait=TRAITS[s["trait"]][0],
                    he="he" if m else "she", his="his" if m else "her",
                    F=who if kind == "name" else f"{'his' if m else 'her'} {who[0]}",
                    obj=obj[0], obj2=obj2[0], color=COLORS[s["color"]][0], color2=COLORS[s["color2"]][0],
                    place=pl[0], place2=pl2[0], a_animal=("an " if animal[0].startswith(VOWELS) else "a ") + animal[0],
                    emo="happy" if kept else "sad")
    e = "e" if not m and fg == "f" else ""  # plural agreement: feminine only if both are
    return dict(N=s["hero"], un_petit_kid="un petit garçon" if m else "une petite fille",
                trait=TRAITS[s["trait"]][1 if m else 2], il="il" if m else "elle",
                F=who if kind == "name" else fr_det(who, "son"),
                un_obj=fr_det(obj, "un"), son_obj=fr_det(obj, "son"), le_obj=fr_det(obj, "le"),
                du_obj=fr_det(obj, "du"), un_obj2=fr_det(obj2, "un"),
                color=COLORS[s["color"]][1 + (obj[2] == "f")], color2=COLORS[s["color2"]][1 + (obj2[2] == "f")],
                au_place=fr_det(pl, "au"), du_place=fr_det(pl, "du"), du_place2=fr_det(pl2, "du"),
                un_animal=fr_det(animal, "un"), enfui="enfuie" if animal[2] == "f" else "enfui",
                ils="elles" if e else "ils", alles=f"allé{e}s", amuses=f"amusé{e}s", rentres=f"rentré{e}s",
                emo=("content" if m else "contente") if kept else "triste", emos=f"content{e}s" if kept else "tristes")


def sentences(s, lang):
    """The story's sentences in one language, as text (sentence k translates sentence k)."""
    frames, values = (EN if lang == "en" else FR), slots(s, lang)
    scenes = TOPIC_TABLES[s["topic"]]["scenes"]
    return [scenes[int(f[-1])][lang == "fr"] if f.startswith("scene")
            else frames[f][s["variants"][8 if f == "end" else k] % len(frames[f])].format(**values)
            for k, f in enumerate(s["frames"])]


def story_key(s):  # what makes two story records the same story
    return repr(sorted((k, v) for k, v in s.items() if k != "voices"))


# ----------------------------------------------------------------------------- pronunciation and units

class Voice:
    """Phone sets, the unit table, the speakers, and each language's lexicon (word -> phones)."""

    def __init__(self, seed):
        rng = np.random.default_rng([seed, 7])
        # phone ids: 0 silence; EN consonants 1..24, vowels 25..38; FR consonants 19..24 (shared), 39..52, vowels 53..68
        self.cons = {"en": np.arange(1, 25), "fr": np.r_[SHARED_PHONES, 39:53]}
        self.vow = {"en": np.arange(25, 39), "fr": np.arange(53, 69)}
        self.is_vowel = np.isin(np.arange(69), np.r_[25:39, 53:69])
        self.units = rng.permutation(VOCAB_SIZE)[:69 * n_variants].reshape(69, n_variants)  # (phone, variant)
        # a speaker says most phones with the canonical unit (variant 0), some with its own substitute;
        # some speakers are slower (an extra frame on some vowels)
        shift = rng.random((2, n_speakers, 69)) < speaker_shift
        sub = rng.integers(1, max(n_variants, 2), (2, n_speakers, 69)) % n_variants
        self.prim = {lang: np.where(shift[i], sub[i], 0) for i, lang in enumerate(("en", "fr"))}
        self.slow = {lang: rng.uniform(0.0, slow_max, n_speakers) for lang in ("en", "fr")}
        self.seed, self.cache = seed, {"en": {}, "fr": {}}  # cache: sentence text -> word ids (many recur)
        self.words = {lang: {"<sil>": 0} for lang in ("en", "fr")}  # the lexicon: word -> id -> phones
        self.pron = {lang: [np.zeros(1, np.int64)] for lang in ("en", "fr")}

    def word_ids(self, lang, text):  # a word seen first joins the lexicon, pronounced
        if text not in self.cache[lang]:
            for w in WORD_RE.findall(text):
                if w not in self.words[lang]:  # id = index of its phones (lex_'s non-words sit there too)
                    self.words[lang][w] = len(self.pron[lang])
                    self.pron[lang].append(self._pronounce(lang, w))
            self.cache[lang][text] = [self.words[lang][w] for w in WORD_RE.findall(text)]
        return self.cache[lang][text]

    def _pronounce(self, lang, w):
        # a fixed function of (seed, language, spelling): the same whichever stories were drawn
        lang = "en" if shared_names and w in NAMES else lang
        r = np.random.default_rng([self.seed, lang == "fr", zlib.crc32(w.encode())])
        vowel, ph = r.random() < 0.3, []  # most words start with a consonant
        for _ in range(int(np.clip(round(len(w.strip("'")) * phones_per_letter), 1, max_phones))):
            ph.append(int(r.choice(self.vow[lang] if vowel else self.cons[lang])))
            vowel = (not vowel) if r.random() < 0.85 else vowel  # mostly CV alternation, some clusters
        if all(p in SHARED_PHONES for p in ph):  # keep a phone of its own language: no EN word may
            ph[0] = int(r.choice(np.setdiff1d(self.cons[lang], SHARED_PHONES)))  # sound like a FR word
        return np.array(ph, np.int64)

    def render(self, lang, word_ids, n_words, speakers, rng):
        """Words -> units. word_ids (W,) in sentence order, n_words (S,) per sentence, speakers (S,).
        Returns units uint16 (U,) and sentence offsets int64 (S+1,)."""
        flat, off = np.concatenate(self.pron[lang]), np.r_[0, np.cumsum([len(p) for p in self.pron[lang]])]  # CSR
        S, W = len(n_words), len(word_ids)
        pre = np.isin(np.arange(W), np.cumsum(n_words) - n_words).astype(np.int64)  # silence before a sentence
        post = (rng.random(W) < pause_prob).astype(np.int64)                 # a pause between words
        post[np.cumsum(n_words) - 1] = 1 + (rng.random(S) < 0.5)             # 1-2 silence frames at the end
        wlen = off[word_ids + 1] - off[word_ids]
        total = pre + wlen + post                                            # (W,) phones per word slot
        phones = np.zeros(total.sum(), np.int32)                             # (P,) silence (0) by default
        j = np.arange(wlen.sum()) - np.repeat(np.cumsum(wlen) - wlen, wlen)  # phone index within its word
        phones[np.repeat(np.cumsum(total) - total + pre, wlen) + j] = flat[np.repeat(off[word_ids], wlen) + j]
        psent = np.repeat(np.repeat(np.arange(S), n_words), total)          # (P,) sentence of each phone
        spk = speakers[psent]
        var = np.where(rng.random(len(phones), np.float32) < variability,   # mostly the speaker's unit
                       rng.integers(0, n_variants, len(phones)), self.prim[lang][spk, phones])
        d, vow = rng.random(len(phones), np.float32), self.is_vowel[phones]  # durations in frames:
        long = np.where(vow, vowel_long, cons_long)                       # vowels longer
        dur = 1 + (d < long) + (d < long * np.where(vow, 0.25, 1 / 15))
        dur += vow & (rng.random(len(phones), np.float32) < self.slow[lang][spk])
        units, usent = np.repeat(self.units[phones, var], dur), np.repeat(psent, dur)  # (U,)
        hit = rng.random(len(units), np.float32) < noise                     # random substitutions
        units[hit] = rng.integers(0, VOCAB_SIZE, int(hit.sum()))
        return units.astype(np.uint16), np.r_[0, np.cumsum(np.bincount(usent, minlength=S))].astype(np.int64)


def render_stories(voice, stories, lang, rng):
    """All sentences of the stories in one language: units (U,), sentence offsets (S+1,), story starts."""
    ids, n_words, spk, starts = [], [], [], []
    for s in stories:
        starts.append(len(n_words))
        words = [voice.word_ids(lang, text) for text in sentences(s, lang)]
        ids += [w for ws in words for w in ws]
        n_words += [len(ws) for ws in words]
        spk += s["voices"][lang]
    units, offs = voice.render(lang, np.array(ids, np.int64), np.array(n_words), np.array(spk), rng)
    return units, offs, starts


def build_split(voice, name, stories, rng_seed):
    rng, sents, tokens = np.random.default_rng(rng_seed), {}, {}
    for lang in ("en", "fr"):
        units, offs, starts = render_stories(voice, stories, lang, rng)
        sents[lang], tokens[lang] = [units[a:b] for a, b in zip(offs[:-1], offs[1:])], len(units)
    tokenbin.write_split(out_dir, name, sents, starts, VOCAB_SIZE)
    return dict(stories=len(stories), sentences=len(sents["en"]), tokens=tokens)


def draw_stories():
    """Every story record of the corpus, before any rendering (prepare_text.py renders the same records
    as text): ({"train": [...], "val": [...]}, bench) with bench = (stories, ssc_bads, stc_bads, others)."""
    splits, seen = {}, set()
    for i, (split, n) in enumerate((("train", n_train_stories), ("val", n_val_stories))):
        r = random.Random(seed * 1000 + i)  # one stream per part: changing a size changes no other part
        splits[split] = [make_story(r) for _ in range(n)]
        seen.update(story_key(s) for s in splits[split])
    r, stories = random.Random(seed * 1000 + 2), []
    while len(stories) < n_bench:  # topics in turn; held out: no bench story is also a train or val story
        s = make_story(r, topic=len(stories) % len(TOPIC_TABLES))
        if story_key(s) not in seen:
            stories.append(s)
    ssc_bads = [corrupt(s, r) for s in stories]  # one sentence each, rendered after the stories
    others = [r.choice([j for j in range(n_bench) if stories[j]["topic"] != s["topic"]]) for s in stories]
    stc_bads = [dict(stories[j], frames=["end"], voices={lang: v[-1:] for lang, v in s["voices"].items()})
                for s, j in zip(stories, others)]  # another story's ending, in this ending's voice
    return splits, (stories, ssc_bads, stc_bads, others)


def bench_text(bench):
    """The bench items as text, one dict per item (the lines of bench/items.jsonl)."""
    stories, ssc_bads, stc_bads, others = bench
    return [dict(item=i, topic=s["topic"], stc_other=others[i], **{lang: dict(
        prompt=sentences(s, lang)[:-1], good=sentences(s, lang)[-1], ssc_bad=sentences(ssc, lang)[0],
        stc_bad=sentences(stc, lang)[0]) for lang in ("en", "fr")})
        for i, (s, ssc, stc) in enumerate(zip(stories, ssc_bads, stc_bads))]


def build_benches(voice, bench, rng_seed):
    stories, ssc_bads, stc_bads, others = bench
    n = len(stories)
    rng, parts = np.random.default_rng(rng_seed), {}
    for lang in ("en", "fr"):
        units, offs, starts = render_stories(voice, stories + ssc_bads + stc_bads, lang, rng)
        sent = lambda k: units[offs[k]:offs[k + 1]]  # noqa: E731
        end = [starts[i + 1] - 1 for i in range(n)]  # the last sentence of story i
        parts[lang] = dict(prompt=[units[offs[starts[i]]:offs[end[i]]] for i in range(n)], good=[sent(k) for k in end],
                           ssc_bad=[sent(k) for k in starts[n:2 * n]], stc_bad=[sent(k) for k in starts[2 * n:]])
    for task in ("ssc", "stc"):
        for d, (pl, el) in DIRECTIONS.items():
            items = [(parts[pl]["prompt"][i], parts[el]["good"][i], parts[el][f"{task}_bad"][i]) for i in range(n)]
            tokenbin.write_bench(out_dir, f"{task}_{d}", items, VOCAB_SIZE)
    with open(os.path.join(out_dir, "bench", "items.jsonl"), "w", encoding="utf-8") as f:  # text (bench/: write_bench)
        for item in bench_text(bench):
            f.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    return {f"{task}_{d}": n for task in ("ssc", "stc") for d in DIRECTIONS}


def _word_units(voice, lang, word_ids, speaker, rng):
    """Each word rendered alone by one speaker, its edge silences stripped: [uint16 array per word]."""
    units, offs = voice.render(lang, np.array(word_ids, np.int64), np.ones(len(word_ids), np.int64),
                               np.full(len(word_ids), speaker), rng)
    sil = set(voice.units[0].tolist())
    out = []
    for a, b in zip(offs[:-1], offs[1:]):
        w = units[a:b]
        keep = np.flatnonzero([u not in sil for u in w.tolist()])
        out.append(w[keep[0]:keep[-1] + 1] if len(keep) else w[1:2])  # a word is never empty
    return out


def build_minimal_pairs(voice, rng_seed, seen):
    """lex_{en,fr} and syn_{en,fr}: n_pairs minimal pairs per language, each in pair_voices voices."""
    r, rng, sil = random.Random(rng_seed), np.random.default_rng(rng_seed), np.array([voice.units[0, 0]], np.uint16)
    stories = []
    while len(stories) < n_pairs:  # held out, like the cloze stories
        s = make_story(r)
        if story_key(s) not in seen:
            stories.append(s)
    counts, texts = {}, []
    for lang in ("en", "fr"):
        words = [w for w in voice.words[lang] if w != "<sil>"]
        known = {tuple(voice.pron[lang][voice.words[lang][w]].tolist()) for w in words}
        lex_words = r.sample(sorted(words), min(n_pairs, len(words)))
        lex = []
        for w in lex_words:  # a non-word: the word's length and CV shape, other phones of the language
            ph = voice.pron[lang][voice.words[lang][w]].copy()
            while tuple(ph.tolist()) in known or all(p in SHARED_PHONES for p in ph):
                ph = np.array([r.choice(list(voice.vow[lang] if voice.is_vowel[p] else voice.cons[lang]))
                               for p in voice.pron[lang][voice.words[lang][w]]], np.int64)
            voice.pron[lang].append(ph)  # rendered like a word, never entered in the lexicon
            lex.append((voice.words[lang][w], len(voice.pron[lang]) - 1, w))
        syn = []
        for s in stories:
            text = r.choice([t for t in sentences(s, lang) if len(WORD_RE.findall(t)) >= 4])
            ids = voice.word_ids(lang, text)
            k = r.choice([i for i in range(len(ids) - 1) if ids[i] != ids[i + 1]])
            # two words can sound alike (a short word has one phone): swapping them changes no unit, and
            # the pair would be a certain tie. Take the nearest neighbours that differ in sound instead
            # (no draw from r, so every other item stays as it was).
            differ = [i for i in range(len(ids) - 1) if not np.array_equal(voice.pron[lang][ids[i]],
                                                                           voice.pron[lang][ids[i + 1]])]
            if not differ:
                raise SystemExit(f"data/toy_enfr/prepare.py: no two neighbouring words of {text!r} ({lang}) "
                                 f"sound different, so no syn_ pair can be made from it; try another --seed")
            k = min(differ, key=lambda i: (abs(i - k), i))
            syn.append((ids, k, text))
        for task, pairs in (("lex", lex), ("syn", syn)):
            items, groups = [], []
            for g, pair in enumerate(pairs):
                for spk in r.sample(range(n_speakers), pair_voices):
                    if task == "lex":
                        good, bad = _word_units(voice, lang, pair[:2], spk, rng)
                        items.append((np.zeros(0, np.int64), np.r_[sil, good, sil], np.r_[sil, bad, sil]))
                    else:
                        ws, k = _word_units(voice, lang, pair[0], spk, rng), pair[1]
                        swapped = ws[:k] + [ws[k + 1], ws[k]] + ws[k + 2:]
                        items.append((np.zeros(0, np.int64), np.concatenate([sil, *ws, sil]),
                                      np.concatenate([sil, *swapped, sil])))
                    groups.append(g)
            tokenbin.write_bench(out_dir, f"{task}_{lang}", items, VOCAB_SIZE, groups=groups)
            counts[f"{task}_{lang}"] = len(items)
        for w_id, nw_id, w in lex:
            texts.append(dict(set=f"lex_{lang}", good=w, good_phones=voice.pron[lang][w_id].tolist(),
                              bad="(non-word)", bad_phones=voice.pron[lang][nw_id].tolist()))
        for ids, k, text in syn:
            tw = WORD_RE.findall(text)
            texts.append(dict(set=f"syn_{lang}", good=" ".join(tw), bad=" ".join(tw[:k] + [tw[k + 1], tw[k]] + tw[k + 2:])))
    with open(os.path.join(out_dir, "bench", "pairs.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False, sort_keys=True) + "\n")
    return counts


def configure(argv):
    """Apply --key=value overrides to the config block; returns the option names (prepare_text.py
    passes its story options through here, so both corpora draw the same stories)."""
    g = globals()  # the options: the config block's lowercase globals, out_dir first
    options = [k for k, v in g.items() if k[0] != "_" and not k.isupper() and isinstance(v, (int, float, str))]
    for arg in argv:  # nanoGPT-style overrides: --key=value, typed like the default
        key, _, val = arg.lstrip("-").partition("=")
        if key not in options:
            sys.exit(f"data/toy_enfr/prepare.py: unknown option {arg!r}; options (as --key=value): "
                     + " ".join("--" + k for k in options))
        try:
            g[key] = type(g[key])(val)
        except ValueError:
            sys.exit(f"data/toy_enfr/prepare.py: --{key} needs a {type(g[key]).__name__}, got {val!r}")
    if min(n_train_stories, n_val_stories, n_variants, n_bench - 1, n_pairs) < 1 or n_speakers < 2 \
            or not 1 <= pair_voices <= n_speakers:
        sys.exit("data/toy_enfr/prepare.py: needs --n_train_stories, --n_val_stories, --n_variants, --n_pairs "
                 ">= 1, --n_bench >= 2 (sTC takes another story's ending), --n_speakers >= 2 and "
                 "1 <= --pair_voices <= --n_speakers")
    return options


UNITS_NAME = "toy_enfr pseudo-units"
SIZES = ("out_dir", "n_train_stories", "n_val_stories", "n_bench", "n_pairs", "pair_voices")  # how much, not what


def unit_identity(options):
    """meta.json "units" (tokenbin.py): what a unit id means is decided by every option but the sizes (the
    seed, the phones, the voices, the rendering), so their sha256 names the units; an option added later
    joins it by default."""
    g = globals()
    settings = json.dumps({k: g[k] for k in options if k not in SIZES}, sort_keys=True)
    return dict(tokenizer=UNITS_NAME, sha256=hashlib.sha256(settings.encode()).hexdigest(), vocab_size=VOCAB_SIZE)


def main(argv):
    g, options = globals(), configure(argv)
    t0, voice, counts = time.time(), Voice(seed), {}
    splits, bench = draw_stories()
    for i, (split, stories) in enumerate(splits.items()):
        counts[split] = build_split(voice, split, stories, seed * 1000 + i)
    counts["bench"] = build_benches(voice, bench, seed * 1000 + 2)
    seen = {story_key(s) for stories in splits.values() for s in stories}
    counts["bench"].update(build_minimal_pairs(voice, seed * 1000 + 3, seen))
    tokenbin.write_meta(out_dir, dict(
        vocab_size=VOCAB_SIZE, languages=["en", "fr"], counts=counts, seed=seed,
        config={k: g[k] for k in options if k != "out_dir"},
        special_tokens={"story_boundary": tokenbin.story_boundary_token({"vocab_size": VOCAB_SIZE})},
        units=unit_identity(options),
        tokenizer=dict(name=UNITS_NAME, weights=None, revision=None, frame_rate=12.5, codebooks=1,
                       note="synthetic: words -> language-specific phones -> speaker unit variants with "
                            "durations and noise; not Mimi codes, not speech"),
        lexicon_size={lang: len(voice.words[lang]) - 1 for lang in ("en", "fr")},
        source="data/toy_enfr/prepare.py: a synthetic teaching corpus of parallel EN-FR stories rendered "
               "as pseudo speech units (not speech); see its docstring"))
    splits = "; ".join(f"{s} {c['stories']} stories, {c['sentences']} sentences, {c['tokens']['en']:,} EN / "
                       f"{c['tokens']['fr']:,} FR tokens" for s, c in counts.items() if s != "bench")
    print(f"{out_dir}: {splits}; bench sets {counts['bench']}; {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
