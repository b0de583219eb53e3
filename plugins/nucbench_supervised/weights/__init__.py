"""Shipped weights of the supervised-unet baseline (package data: *.pt and *.json)."""
