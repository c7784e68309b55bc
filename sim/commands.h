// The subcommands of ringchain-sim that measure this machine and hold the
// simulator to it: calibrate (a machine profile) and validate (an
// experiment on processes and in the simulator, side by side).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace ringchain::commands {

// "20260101-120000": the local time, for run directories.
std::string timestamp();

// ringchain-sim calibrate: measures the machine and writes its profile.
struct calibrate_args {
  // The profile file to write.
  std::filesystem::path out = "calibrated.toml";
  // A directory on the disk to measure (where node data would go).
  std::filesystem::path dir = ".";
  // The profile's name; empty: the file's stem.
  std::string name;
  // Writers at once, up to.
  std::uint32_t writers = 3;
  // Whether to run the node probe (sim/calibrate/node_probe.h): a cluster
  // of ringchain-node processes whose phases give the profile's [[node]]
  // costs.
  bool node_probe = true;
  // The ringchain-node the probe launches; empty: the one built here.
  std::string node_binary;
};
// Returns the process exit code.
int calibrate(const calibrate_args& a);

// ringchain-sim validate: runs each cell of a process experiment on local
// processes, then in the simulator with the machine profile (nodes
// sharing the machine's disk), and prints predicted against measured.
struct validate_args {
  // The experiment (engine = "processes").
  std::filesystem::path experiment;
  // The machine profile (ringchain-sim calibrate).
  std::filesystem::path machine = "calibrated.toml";
  // The run directory: processes/, sim/ and validation.md; empty:
  // runs/validate-<timestamp>.
  std::filesystem::path out;
  // The ringchain-node to launch; empty: the one built here.
  std::string node_binary;
  // A finished process run of the same experiment (its report.json) to
  // compare with instead of running the processes again; empty: run them.
  std::filesystem::path measured;
  // A finished validation's run directory (its --out) to simulate again:
  // its runs on processes are the measured ones (every repeat, the
  // capacity search and the equal-load runs, as far as it went), and each
  // cell's simulation takes the machine profile with the disk checked
  // around that cell's run there. The simulator's seeds are the ones that
  // validation used, so a model or profile change is compared like for
  // like; empty: run the processes.
  std::filesystem::path again;
  // Runs of each cell on each side (1 to 20): the figures compared are
  // the medians, beside the measured runs' range. With `again`, as many
  // as that validation ran.
  int repeats = 3;
  // Every cell's offered load, tx/s, in place of the experiment's; 0:
  // the experiment's.
  std::uint32_t rate_tps = 0;
  // Every cell's measured window, seconds, in place of the experiment's
  // duration_s; 0: the experiment's. A p99 needs a hundred blocks or more
  // to be more than the window's slowest block (the quickstart's 4 s hold
  // 40 rounds).
  double duration_s = 0;
  // With an experiment that searches capacities (capacity_search = true)
  // and neither rate_tps nor `measured`: each cell's deadline capacity on
  // both sides, then every cell at half the lowest measured capacity.
  bool capacity = true;
  // Whether each cell's simulation takes the disk as checked around its
  // run on processes (the profile's disk figures scaled to it); false
  // (--fixed-disk): the profile's as they are. The checks are made and
  // reported either way.
  bool track_disk = true;
};
// Returns the process exit code: 0 when every cell ran (whatever the
// errors), 1 when a cell failed, 2 for bad arguments.
int validate(const validate_args& a);

}  // namespace ringchain::commands
