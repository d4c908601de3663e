"""Dendritic units: SDR theory, active dendrites with k-winners, the ELM neuron, synaptic delays.

sdr                 exact false-match / false-negative / union probabilities (log space) and Monte-Carlo checks
sparse              SparseDense (fixed random weight masks, collection 'masks') and Numenta's density init
kwinners            KWinners: k-WTA with duty-cycle boosting (collection 'duty_cycles')
active_dendrites    DendriticSegments, ActiveDendritesDense (absolute-max gating), DendriticMLP
elm                 ELM / Branch-ELM recurrent layer (lax.scan), learnable bounded timescales
leaky               the shared leaky-unit primitive (leaky_update, decay_factor, leaky_trace, timescale bounds)
leaky_rnn           LeakyRNN: rate RNN with a learnable timescale per neuron (emergent timescales)
recurrent           LSTM, GRU baselines in the same style; SequenceModel read-out; parameter matching
delays              FixedDelayDense, DelayKernelDense (HD-SNN), DCLSDelayDense (learnable delays)
"""

from common.dendritic.active_dendrites import ActiveDendritesDense, DendriticMLP, DendriticSegments, gate
from common.dendritic.delays import DCLSDelayDense, DelayKernelDense, FixedDelayDense, causal_conv
from common.dendritic.elm import ELM
from common.dendritic.kwinners import KWinners, top_k_mask
from common.dendritic.leaky_rnn import LeakyRNN
from common.dendritic.recurrent import GRU, LSTM, SequenceModel, parameter_matched_hidden
from common.dendritic.sparse import SparseDense

__all__ = [
  'ELM',
  'GRU',
  'LSTM',
  'ActiveDendritesDense',
  'DCLSDelayDense',
  'DelayKernelDense',
  'DendriticMLP',
  'DendriticSegments',
  'FixedDelayDense',
  'KWinners',
  'LeakyRNN',
  'SequenceModel',
  'SparseDense',
  'causal_conv',
  'gate',
  'parameter_matched_hidden',
  'top_k_mask',
]
