/* driftsim release version, recorded in every output file. */
#ifndef DS_VERSION_H
#define DS_VERSION_H

#define DS_VERSION "0.1.0"

#endif
