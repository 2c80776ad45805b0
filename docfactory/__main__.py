"""`python -m docfactory` is the same as the `engine` command."""

from docfactory.cli import app

if __name__ == "__main__":
    app()
