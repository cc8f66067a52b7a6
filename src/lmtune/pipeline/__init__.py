"""The code that knows Snakemake: what every job's script does first (`jobs`), the hash
of the library code a rule's script runs (`library_code`), and what a SLURM cluster
offers (`slurm`). The rest of lmtune is usable without Snakemake."""
