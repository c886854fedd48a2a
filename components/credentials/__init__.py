"""Credentials of the upstream stores: which are published, how they are generated and written in."""
