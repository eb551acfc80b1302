"""Local emulators of the commerce platforms (no Django): one folder per platform, and the
seeded store generator they share with the benches (``sandbox.store``)."""
