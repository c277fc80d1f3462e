"""Django's SQLite backend, told the real bound-parameter limit of the SQLite it runs on."""
