/** AML opcodes and prefixes (ACPI 6.x, section 20.3 "AML Byte Stream Byte Values"). */
export const ZeroOp = 0x00, OneOp = 0x01;
export const NameOp = 0x08;
export const BytePrefix = 0x0a, WordPrefix = 0x0b, DWordPrefix = 0x0c, StringPrefix = 0x0d, QWordPrefix = 0x0e;
export const ScopeOp = 0x10, BufferOp = 0x11, PackageOp = 0x12, MethodOp = 0x14;
export const DualNamePrefix = 0x2e, MultiNamePrefix = 0x2f;
export const ExtOpPrefix = 0x5b;
export const RootChar = 0x5c, ParentPrefixChar = 0x5e;
export const Local0Op = 0x60, Arg0Op = 0x68;
export const StoreOp = 0x70, AndOp = 0x7b, OrOp = 0x7d;
export const CreateDWordFieldOp = 0x8a;
export const LNotOp = 0x92, LEqualOp = 0x93;
export const IfOp = 0xa0, ElseOp = 0xa1, ReturnOp = 0xa4;
/** Second byte after ExtOpPrefix. */
export const DeviceOp = 0x82;
