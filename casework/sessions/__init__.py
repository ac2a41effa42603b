"""Sessions (domain, lowest layer of the domain): signed-in sessions kept on the server,
so that ending one ends every copy of its cookie."""
