"""AFI Tracker: follow up inspection findings to completion."""
