"""Example team code that lives outside generated/."""
