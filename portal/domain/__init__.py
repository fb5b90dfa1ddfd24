"""Domain rules in plain modules: no request access, called by the views."""
