// The HDF5 on-disk vocabulary shared by the reader and the writer (internal to tensor/io): the file
// signature, object header message types, datatype classes, filter names and the Jenkins lookup3
// checksum that version-2 structures carry. Field layouts are described where they are parsed
// (hdf5_objects.cpp) and written (hdf5_writer.cpp); the reference is the HDF5 File Format
// Specification, version 3.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tz::io::hdf5::detail {

/// "\211HDF\r\n\032\n": the first 8 bytes of the superblock.
inline constexpr uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/// Object header message types.
enum MessageType : uint16_t {
  kMsgNil = 0x00,
  kMsgDataspace = 0x01,
  kMsgLinkInfo = 0x02,
  kMsgDatatype = 0x03,
  kMsgFillValueOld = 0x04,
  kMsgFillValue = 0x05,
  kMsgLink = 0x06,
  kMsgExternalFiles = 0x07,
  kMsgLayout = 0x08,
  kMsgGroupInfo = 0x0a,
  kMsgFilterPipeline = 0x0b,
  kMsgAttribute = 0x0c,
  kMsgContinuation = 0x10,
  kMsgSymbolTable = 0x11,
  kMsgAttributeInfo = 0x15,
};

/// Message flag bits (the same in version 1 and 2 object headers).
inline constexpr uint8_t kMsgFlagConstant = 0x01;
inline constexpr uint8_t kMsgFlagShared = 0x02;
inline constexpr uint8_t kMsgFlagFailIfUnknown = 0x80;

/// Datatype classes (low 4 bits of a datatype message's first byte).
enum TypeClass : uint8_t {
  kClassFixedPoint = 0,
  kClassFloat = 1,
  kClassTime = 2,
  kClassString = 3,
  kClassBitfield = 4,
  kClassOpaque = 5,
  kClassCompound = 6,
  kClassReference = 7,
  kClassEnum = 8,
  kClassVarLen = 9,
  kClassArray = 10,
};

/// "fixed-point", "compound", ... for error messages; "unknown" past the defined classes.
const char* type_class_name(unsigned cls);
/// "deflate", "shuffle", "fletcher32", ... for error messages; "filter <id>" otherwise.
const char* filter_name(unsigned id);

/// Bob Jenkins' lookup3 hashlittle() with initial value 0: HDF5's checksum for superblock
/// version 2+, version-2 object headers, fractal heaps, version-2 B-trees and fixed arrays.
uint32_t lookup3(const uint8_t* data, size_t n, uint32_t initval = 0);

}  // namespace tz::io::hdf5::detail
