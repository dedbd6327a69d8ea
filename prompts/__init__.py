"""Prompt templates (text files with placeholders), shipped as package data so a wheel install has them."""
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The file of a template, e.g. path("answer.txt")."""
    return DIRECTORY / name
