"""Reporters: one module per output format; pure functions from findings (or report data) to text."""
