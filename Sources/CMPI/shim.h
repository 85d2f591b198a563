// MPI for Swift: the constants that mpi.h defines as macros, which Swift cannot import, as
// functions. Open MPI's handles are pointers and MPICH's integers; both are returned here as the
// library's own MPI_Comm, MPI_Datatype, MPI_Op and MPI_Request types, and the Swift code never
// names those types, so that it compiles against either.
#ifndef BACKPROP_CMPI_SHIM_H
#define BACKPROP_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm backprop_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype backprop_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype backprop_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op backprop_mpi_sum(void) { return MPI_SUM; }
static inline int backprop_mpi_success(void) { return MPI_SUCCESS; }
static inline int backprop_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Errhandler backprop_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int backprop_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline void *backprop_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *backprop_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request backprop_mpi_request_null(void) { return MPI_REQUEST_NULL; }

// Non-blocking all-reduces whose requests Swift keeps as raw memory of
// backprop_mpi_request_size() bytes, so that it never names MPI_Request.
static inline size_t backprop_mpi_request_size(void) { return sizeof(MPI_Request); }
static inline int backprop_mpi_iallreduce_sum(void *buffer, int count, int is_float, void *request) {
  return MPI_Iallreduce(MPI_IN_PLACE, buffer, count, is_float ? MPI_FLOAT : MPI_DOUBLE, MPI_SUM,
                        MPI_COMM_WORLD, (MPI_Request *)request);
}
static inline int backprop_mpi_test(void *request, int *done) {
  return MPI_Test((MPI_Request *)request, done, MPI_STATUS_IGNORE);
}

#endif
