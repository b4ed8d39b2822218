"""Sigma rules from a folder: ``loader.load_folder`` reads and compiles them."""
