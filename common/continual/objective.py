"""The classification objective of a continual stream: softmax cross-entropy with per-example class masks.

Task-incremental streams give each example the mask of its task's classes: logits outside the mask are removed
before the softmax, which is exactly a separate head per task on a shared output layer. Other scenarios pass an
all-True mask. Batches: {'inputs', 'targets' (B,), 'mask' (B, C) bool, 'weight' (B,) optional}.
"""

import jax
import jax.numpy as jnp
import optax

from common.train.tasks import weighted_mean


def masked_logits(logits: jax.Array, mask: jax.Array | None) -> jax.Array:
  if mask is None:
    return logits
  return jnp.where(mask, logits, -1e9)


def classification_loss(logits: jax.Array, batch) -> tuple[jax.Array, dict[str, jax.Array]]:
  """(weighted mean cross-entropy, {'loss', 'accuracy'}) of (B, C) logits."""
  logits = masked_logits(logits, batch.get('mask'))
  labels = batch['targets']
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
  loss = weighted_mean(ce, batch)
  return loss, {'loss': loss, 'accuracy': weighted_mean(correct, batch)}


class MaskedClassification:
  """The piece of the task interface common.train.loop.make_eval_step uses (`loss`)."""

  def loss(self, logits, batch):
    return classification_loss(logits, batch)
