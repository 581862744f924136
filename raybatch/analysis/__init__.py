"""Pure analysis functions: picture statistics, shot boundaries, speech and silence, the edit
decision list and enhancement parameters. No Ray, no models, no subprocesses: arrays in, plain
data out, so every rule is unit-tested on its own."""
