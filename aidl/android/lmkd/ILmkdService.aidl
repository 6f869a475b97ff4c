/*
 * The lmkd dump service. It has no methods: `dumpsys lmkd` calls the binder's dump(), which
 * prints the same report as `lmkctl status` (mode, configuration, pressure, registered
 * processes, kill counters and history, reaper placement and statistics).
 */
package android.lmkd;

interface ILmkdService {}
