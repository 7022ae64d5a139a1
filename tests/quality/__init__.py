"""Quality tier: planted NTK bugs that the suite must find and shrink (see ``planted.py``)."""
