/**
 * Snapshot files, independent of what they hold: the versioned, checksummed state file
 * ({@link SnapshotFile}) and the guest memory file ({@link MemoryFile}), with the atomic
 * write both use. What goes into a state file is {@code dev.ember.vmm.VmState}.
 *
 * <p>Package map: uses log.
 */
package dev.ember.snapshot;
