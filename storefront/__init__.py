"""The shopper-facing loyalty widget (plain JS + CSS, no build step) and the view serving it."""
