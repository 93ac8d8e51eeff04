"""``python -m phase4gate``."""

from phase4gate.cli import entry

if __name__ == "__main__":
    entry()
