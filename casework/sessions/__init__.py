"""Signed-in sessions kept on the server, so that ending one ends every copy of its cookie."""
