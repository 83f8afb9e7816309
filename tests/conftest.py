# Tests import the top-level scripts as modules (model, tokenbin, ...): put the repo root on the path.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
