"""Pulumi ComponentResources that make up an mlplane platform and its ML work."""
