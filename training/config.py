"""
training/config.py: train.py's configuration, nanoGPT style: the plain values at the top of train.py
are the defaults; config files (python, exec'd, bare arguments) and --key=value or --key value
overrides change them, in command-line order. Values are python literals (ast.literal_eval), else
strings. Every value must have its default's type (an int where a float is expected is taken).

    cfg = parse(DEFAULTS, ["config/toy_pretrain.py", "--max_iters=20"])   # -> {key: value}
"""
import ast
import builtins
import os
import types


class ConfigError(ValueError):
    """A config key or value train.py cannot use; the message says which and what to do."""


def set_value(cfg, defaults, key, value, where):
    """cfg[key] = value after checking that the key exists and the value has the default's type."""
    if key not in cfg:
        raise ConfigError(f"{where}: unknown config key '{key}'; the keys are the values at the top "
                          f"of train.py: {', '.join(sorted(cfg))}")
    default = defaults[key]
    if not (default is None or value is None or type(value) is type(default)
            or (type(default) is float and type(value) is int)):
        raise ConfigError(f"{where}: {key}={value!r} is a {type(value).__name__}, expected "
                          f"{type(default).__name__} like the default {default!r}")
    cfg[key] = float(value) if type(default) is float and type(value) is int else value


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


def parse(defaults, argv):
    """defaults <- config files (bare arguments) <- --key=value / --key value, in order -> dict."""
    cfg, args = dict(defaults), iter(argv)
    for arg in args:
        if not arg.startswith("--"):  # a config file: python that assigns config values
            if not os.path.isfile(arg):
                raise ConfigError(f"{arg}: no such config file (give config/<name>.py or --key=value)")
            scope = dict(cfg, __file__=os.path.abspath(arg))  # a config may read files beside it
            run_config_file(arg, scope)
            for k, v in scope.items():
                if not (k.startswith("_") or isinstance(v, (types.ModuleType, types.FunctionType, type))):
                    set_value(cfg, defaults, k, v, arg)
        else:
            key, eq, text = arg[2:].partition("=")
            if not eq and (text := next(args, None)) is None:
                raise ConfigError(f"{arg}: needs a value (--{key}=VALUE or --{key} VALUE)")
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text  # a plain string: paths, names
            set_value(cfg, defaults, key, value, arg)
    return cfg
