"""The sandbox: emulated AWS (moto) plus the emulation of what moto does not do, on one machine."""
