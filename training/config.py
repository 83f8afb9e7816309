"""
training/config.py: train.py's configuration, nanoGPT style: the plain values at the top of train.py
are the defaults; config files (python, exec'd, bare arguments) and --key=value or --key value
overrides change them, in command-line order. Values are python literals (ast.literal_eval), else
strings. Every value must have its default's type (an int where a float is expected is taken) and lie
in its range, given beside the defaults (train.py's VALID):

    "[0, inf)", "(0, 1]" ...   a number in the interval (inf: no bound), brackets inclusive
    ["block", "model"]         one of these values
    (dict, None)               the types a key whose default is None may take

    cfg = parse(DEFAULTS, ["config/toy_pretrain.py", "--max_iters=20"], VALID, "train.py")  # -> {key: value}
    .venv/bin/python train.py --help      # every key with its default, its range and its comment
"""
import ast
import builtins
import os
import re
import sys
import textwrap
import tokenize
import types

INTERVAL = re.compile(r"([\[(])\s*(-?[\d.e+-]+|-inf)\s*,\s*([\d.e+-]+|inf)\s*([\])])")


class ConfigError(ValueError):
    """A config key or value train.py cannot use; the message says which and what to do."""


def type_names(types_):
    return " or ".join("None" if t in (None, type(None)) else t.__name__ for t in types_)


def check_range(key, value, spec, comment):
    """The error text if value is outside spec (an interval string or a list of choices), else None."""
    if isinstance(spec, list):
        return None if value in spec else f"{key}={value!r}: choose one of {spec}"
    m = INTERVAL.fullmatch(spec)
    if not m:
        raise ValueError(f"{key}: range {spec!r} is not an interval like '[0, inf)'")
    lo, hi = float(m[2]), float(m[3])
    ok = (lo <= value if m[1] == "[" else lo < value) and (value <= hi if m[4] == "]" else value < hi)
    return None if ok else f"{key}={value!r}: must be in {spec}" + (f" ({comment})" if comment else "")


def set_value(cfg, defaults, valid, key, value, where, comments):
    """cfg[key] = value after checking that the key exists, the value has the default's type (or one
    that valid allows a None default) and lies in valid's range."""
    if key not in cfg:
        raise ConfigError(f"{where}: unknown config key '{key}'; the keys are the values at the top "
                          f"of train.py (train.py --help): {', '.join(sorted(cfg))}")
    default, spec = defaults[key], valid.get(key)
    allowed = spec if isinstance(spec, tuple) else (type(default),)
    allowed = tuple(type(None) if t is None else t for t in allowed)
    if type(value) is int and float in allowed:
        value = float(value)
    if type(value) not in allowed:
        like = f" like the default {default!r}" if default is not None else ""
        hint = " (True or False, capitalised)" if bool in allowed else ""
        raise ConfigError(f"{where}: {key}={value!r} is a {type(value).__name__}, expected "
                          f"{type_names(allowed)}{like}{hint}")
    if isinstance(spec, (str, list)):  # inf and nan lie in no interval
        if (msg := check_range(key, value, spec, comments.get(key, (None, ""))[1])) is not None:
            raise ConfigError(f"{where}: {msg}")
    cfg[key] = value


def run_config_file(path, scope):
    """exec a config file in scope; its mistakes (not UTF-8, a syntax error, a name it never defined, any
    error of its own code) are a ConfigError naming the file and the line."""
    try:
        with open(path, encoding="utf-8") as f:
            code = builtins.compile(f.read(), path, "exec")  # `compile` is a config key
        exec(code, scope)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8") from None
    except SyntaxError as e:
        raise ConfigError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:  # the config's own code failed (NameError, ...): report it at its line
        tb, line = e.__traceback__, "?"
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == path:
                line = tb.tb_lineno
            tb = tb.tb_next
        raise ConfigError(f"{path}:{line}: {type(e).__name__}: {e}") from None


def parse(defaults, argv, valid, source=None):
    """defaults <- config files (bare arguments) <- --key=value / --key value, in order -> dict.
    valid: {key: range} (module docstring); source: the file holding the defaults, whose comments
    explain each key (--help prints them and exits)."""
    comments = key_comments(source) if source else {}
    cfg, args = dict(defaults), iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            try:
                print(help_text(defaults, valid, comments, source), flush=True)
            except BrokenPipeError:  # `train.py --help | head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        if not arg.startswith("--"):  # a config file: python that assigns config values
            if not os.path.isfile(arg):
                raise ConfigError(f"{arg}: no such config file (give config/<name>.py or --key=value)")
            scope = dict(cfg, __file__=os.path.abspath(arg))  # a config may read files beside it
            run_config_file(arg, scope)
            for k, v in scope.items():
                if not (k.startswith("_") or isinstance(v, (types.ModuleType, types.FunctionType, type))):
                    set_value(cfg, defaults, valid, k, v, arg, comments)
        else:
            key, eq, text = arg[2:].partition("=")
            if not eq and (text := next(args, None)) is None:
                raise ConfigError(f"{arg}: needs a value (--{key}=VALUE or --{key} VALUE)")
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text  # a plain string: paths, names
            set_value(cfg, defaults, valid, key, value, arg, comments)
    return cfg


def key_comments(source):
    """{key: (section, comment)} from the config block of a python file, the lines between its first
    two `# ---` rules: the comment after `key = value` and the indented comment lines below it; a
    comment alone at column 0 titles the keys below it."""
    out, key, section, inside = {}, None, "", False
    with open(source) as f:
        for tok in tokenize.generate_tokens(f.readline):
            if tok.type == tokenize.COMMENT and tok.start[1] == 0 and tok.string.startswith("# ---"):
                if inside:
                    break
                inside = True
            elif not inside:
                continue
            elif tok.type == tokenize.NAME and tok.start[1] == 0:  # `key = value`
                key = tok.string
                out[key] = (section, "")
            elif tok.type == tokenize.COMMENT:
                text = tok.string[1:].strip()
                if tok.start[1] == 0:
                    section, key = text, None
                elif key is not None:
                    out[key] = (out[key][0], (out[key][1] + " " + text).strip())
    return out


def help_text(defaults, valid, comments, source):
    """Every key as --key=default, its range and its comment, under the block's section titles."""
    name = os.path.basename(source) if source else "train.py"
    lines = [f"usage: {name} [CONFIG.py ...] [--key=value | --key value ...]",
             "The values below, then config files (python assigning them), then --key=value overrides, in",
             "order. A value is a python literal (20, 3e-4, True, {'en': 1.0}), else a string."]
    width = min(36, max(len(f"--{k}={v!r}") for k, v in defaults.items()) + 2)
    section = None
    for key, default in defaults.items():
        sec, text = comments.get(key, ("", ""))
        if sec != section:
            lines += ["", sec] if sec else [""]
            section = sec
        spec = valid.get(key)
        rng = (" | ".join(map(str, spec)) if isinstance(spec, list) else type_names(spec)
               if isinstance(spec, tuple) else spec or "")
        head = f"  --{key}={default!r}".ljust(width) + "  "
        body = "  ".join(x for x in (rng, text) if x)
        lines += textwrap.wrap(body, 104, initial_indent=head, subsequent_indent=" " * len(head)) or [head]
    return "\n".join(lines)
