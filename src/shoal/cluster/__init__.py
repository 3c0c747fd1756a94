"""A local cluster of shoal machines: `shoal up`, `status`, `stop`, `down`, ..."""
