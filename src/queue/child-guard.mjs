// Loaded (node --import) into each `gps run|resume` a queue worker starts,
// which talks to it over an IPC channel. When the worker goes away (killed:
// its end of the channel closes), the run mutes the pipes the worker read
// and stops after its current stage, as on a first SIGINT: its checkpoint is
// written, its lock released, and the job, handed to another worker by
// BullMQ's stalled-job check, resumes from there.
if (typeof process.send === "function" && process.channel) {
  process.channel.unref(); // the channel alone must not keep the run alive
  process.once("disconnect", () => {
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
    process.kill(process.pid, "SIGINT");
  });
}
