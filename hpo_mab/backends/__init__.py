"""Backends evaluate a configuration and report its metric epoch by epoch."""
