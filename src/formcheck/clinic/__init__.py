"""Clinician screening: accounts, athletes, screenings (mSEBT, lunge, step-up), scoring, history.

Data flows one way here too: analysed clips (the service's jobs) → trials → `scoring` (pure)
→ results for the API, the history and the reports.
"""
