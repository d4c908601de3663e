"""Brain-inspired continual learning: task streams, metrics, learners that compose with any model, an entry point.

streams       TaskStream; permuted_stream, rotated_stream, split_stream (task-/class-incremental) over any TFDS
              image dataset (pipeline.load_tfds: one uint8 pool on the device, decoded and permuted in the step) or
              ArrayDataset; teacher_student_stream (binary perceptron teachers)
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
few_shot      few_shot_stream (k shots per class, held-out episodes); FewShotProbe: held-out few-shot learning
              measured after every task for any wrapped learner
fscl          FastSlow: fast weights with metaplastic (online-EWC) consolidation, slow weights consolidated from
              them (Reptile-style), each task's fast weights restarted from the slow ones
adaptation    test-time adaptation steps: source, norm (batch statistics), TENT, soft Hebbian, NHL
tta_model     TTACNN (conv -> BatchNorm -> NeuroModulator ...), the source model of adaptation experiments
corruptions   noise / blur / contrast / rotation at 5 severities; corruption_stream of (corruption, severity) domains
"""
