"""The reference agent service and its simulated, unreliable dependencies."""
