"""Live coaching: runner profile, rules that turn steps into cues, speech, tones and metronome."""
