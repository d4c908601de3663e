"""Brain-inspired continual learning: task streams, metrics, learners that compose with any model, an entry point.

streams       TaskStream; permuted_stream, rotated_stream, split_stream (task-/class-incremental) over any
              ArrayDataset (digits via pipeline.load_tfds); teacher_student_stream (binary perceptron teachers)
metrics       continual_metrics(acc, baseline) -> ACC, BWT, FWT, forgetting; plot_accuracy_matrix
trainer       train(model, stream, learner, optimizer, steps_per_task, seed, workdir, dry_run, ...): the gin
              entry point; evaluates every task after each task, checkpoints, resumes mid-task
learners      Learner (fine-tuning, the interface), Joint (upper bound)
regularizers  EWC (online, diagonal Fisher), SI: loss terms with state
projection    project_gradients (optax), HLOP (Oja subspace lateral neurons), SVDProjection (oracle)
rehearsal     Rehearsal: fixed-budget replay with power-law / uniform / recency schedules
binary        BinaryDense / MeanFieldDense / BinaryMLP / BinaryPerceptron; Metaplastic, VariationalBinary
activity      dense_inputs: presynaptic activity of every nn.Dense of any linen model
report        run grids through the launcher, results tables and plots for projects
"""
