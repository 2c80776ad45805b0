"""The `engine` commands, one module per purpose; docfactory/cli.py builds the app from them."""
