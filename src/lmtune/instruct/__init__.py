"""Fine-tuning on the user's own instruction data: read and check it (`data`), encode it
with the loss on the answers and decide over-long examples (`encoding`), score
generations against references (`metrics`), and export an adapter merged into its base
model (`export`)."""
