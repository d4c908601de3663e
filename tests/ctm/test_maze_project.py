"""projects/ctm_maze: the LSTM baseline's parameter count matches the CTM's (the table's analysis is tested in
tests/ctm/test_ctm_analyses.py)."""

from projects.ctm_maze import match


def test_lstm_baseline_is_parameter_matched():
  ctm, lstm = match.count(match.CTM_GIN), match.count(match.LSTM_GIN)
  assert abs(lstm - ctm) / ctm < 0.01
