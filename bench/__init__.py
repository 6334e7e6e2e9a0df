"""The benchmark of django-oauth-par: run ``.venv/bin/python bench/run.py`` (see run.py)."""
