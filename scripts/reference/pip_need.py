"""need(module, *pip_args): import a module, pip-installing it first when it is missing, so the
reference scripts set themselves up (shared by the golden scripts)."""
import importlib
import subprocess
import sys


def need(module, *pip_args):
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *(pip_args or (module,))])
        return importlib.import_module(module)
