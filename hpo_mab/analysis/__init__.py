"""Analysis: reads only what the journal wrote."""
