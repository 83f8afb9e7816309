"""
results/names.py: the names every layer of the results shares, kept below them all: scoring
conventions, task and direction labels, the paper's column order, and a set name's label.

    bench set name = {task}_{direction}: task ssc | stc (or a minimal-pair task, e.g. swuggy, lex),
                     direction a language code (en) or prompt>endings (en-fr)
"""
SCORINGS = ("mean", "sum", "ending")
SCORING_HELP = {
    "mean": "mean log-lik of every token after the boundary token (slamkit); ties 0.5",
    "sum": "summed log-lik of every token after the boundary token; ties 0.5",
    "ending": "mean log-lik of the ending tokens given the prompt; ties 0.5",
}
TASKS = (("ssc", "sSC"), ("stc", "sTC"))                                    # table rows
PAIR_TASKS = {"swuggy": "sWUGGY", "swuggyiv": "sWUGGY in-vocab", "sblimp": "sBLiMP",  # minimal pairs
              "lex": "toy-lex", "syn": "toy-syn"}
DIRECTIONS = (("en", "EN"), ("fr", "FR"), ("en-fr", "EN>FR"), ("fr-en", "FR>EN"))  # table columns
# the paper's column order, used by the reports
PAPER_COLUMNS = ("ssc_en", "ssc_fr", "stc_en", "stc_fr", "ssc_en-fr", "ssc_fr-en", "stc_en-fr", "stc_fr-en")


def set_label(name):
    """ssc_en-fr -> 'sSC EN>FR', sblimp_en -> 'sBLiMP EN' (the paper's columns); any other set keeps its name."""
    task, _, d = name.partition("_")
    if task in PAIR_TASKS and d:
        return f"{PAIR_TASKS[task]} {d.upper()}"
    if task not in dict(TASKS) or not d:
        return name
    return f"{dict(TASKS)[task]} {dict(DIRECTIONS).get(d, d.upper().replace('-', '>'))}"
