"""camshark's protocol library: bytes in, typed records out. Standard library + construct only."""
