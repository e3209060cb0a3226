"""Example target profiles for agents whose API differs from the reference agent's."""
