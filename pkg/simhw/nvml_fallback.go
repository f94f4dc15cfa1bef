package simhw

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// go-nvml's mocks are moq-generated structs with one XxxFunc field per
// method, and calling a method whose field is nil panics. A driver under
// test calls many getters nobody thought to simulate (temperature, clocks,
// ECC counters...), and a panic there would crash the test instead of
// exercising the driver's handling of an unsupported query. The helpers
// below therefore complete a mock so that every method answers:
//
//   - nil methods return zero values and ERROR_NOT_SUPPORTED, the answer a
//     real GPU gives for a query it lacks;
//   - on the library object, nil DeviceXxx(device, ...) style methods
//     forward to device.Xxx(...), as the real library does, so the simulated
//     device answers whichever way it is asked;
//   - existing methods that take pointers (the mock's MIG calls dereference
//     their *ProfileInfo arguments) answer ERROR_INVALID_ARGUMENT to nil
//     instead of panicking.

var (
	returnType = reflect.TypeFor[nvml.Return]()
	errorType  = reflect.TypeFor[error]()
)

// completeMock fills in and guards every XxxFunc field of the mock struct
// that ptr points to. With forward set, nil methods whose first parameter is
// an NVML handle interface are forwarded to that handle's method.
func completeMock(ptr any, forward bool) {
	v := reflect.ValueOf(ptr).Elem()
	t := v.Type()
	for i := 0; i < v.NumField(); i++ {
		field := v.Field(i)
		name, isFunc := strings.CutSuffix(t.Field(i).Name, "Func")
		if !isFunc || field.Kind() != reflect.Func || !field.CanSet() {
			continue
		}
		switch {
		case !field.IsNil():
			if hasPointerParam(field.Type()) {
				field.Set(nilGuard(field))
			}
		case forward:
			if fn, ok := forwarder(field.Type(), name); ok {
				field.Set(fn)
				continue
			}
			field.Set(unsupported(field.Type(), name))
		default:
			field.Set(unsupported(field.Type(), name))
		}
	}
}

// failure builds the results of a call that did not happen: zero values,
// code for every nvml.Return, and an error naming the method for every error.
func failure(ft reflect.Type, name string, code nvml.Return) []reflect.Value {
	out := make([]reflect.Value, ft.NumOut())
	for i := range out {
		switch rt := ft.Out(i); rt {
		case returnType:
			out[i] = reflect.ValueOf(code)
		case errorType:
			err := fmt.Errorf("simulated NVML: %s: %w", name, code)
			out[i] = reflect.ValueOf(&err).Elem()
		default:
			out[i] = reflect.Zero(rt)
		}
	}
	return out
}

func unsupported(ft reflect.Type, name string) reflect.Value {
	res := failure(ft, name, nvml.ERROR_NOT_SUPPORTED)
	return reflect.MakeFunc(ft, func([]reflect.Value) []reflect.Value { return res })
}

func hasPointerParam(ft reflect.Type) bool {
	for i := 0; i < ft.NumIn(); i++ {
		if ft.In(i).Kind() == reflect.Pointer {
			return true
		}
	}
	return false
}

// nilGuard wraps the function currently stored in field. The function is
// copied out first: field is the struct slot the guard will be stored in,
// and calling through it would call the guard itself.
func nilGuard(field reflect.Value) reflect.Value {
	fn := reflect.ValueOf(field.Interface())
	ft := fn.Type()
	res := failure(ft, "nil argument", nvml.ERROR_INVALID_ARGUMENT)
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		for _, a := range args {
			if a.Kind() == reflect.Pointer && a.IsNil() {
				return res
			}
		}
		if ft.IsVariadic() {
			return fn.CallSlice(args)
		}
		return fn.Call(args)
	})
}

// forwarder returns a function for library method name that calls the
// same-named method on its first argument, e.g. DeviceGetPowerUsage(d) ->
// d.GetPowerUsage(), GpuInstanceGetInfo(gi) -> gi.GetInfo(). It only
// matches when the handle type's name prefixes the method name and the
// signatures line up, so unrelated methods are never rewired.
func forwarder(ft reflect.Type, name string) (reflect.Value, bool) {
	if ft.NumIn() == 0 {
		return reflect.Value{}, false
	}
	handle := ft.In(0)
	if handle.Kind() != reflect.Interface || handle.PkgPath() != returnType.PkgPath() {
		return reflect.Value{}, false
	}
	methodName, ok := strings.CutPrefix(name, handle.Name())
	if !ok {
		return reflect.Value{}, false
	}
	method, ok := handle.MethodByName(methodName)
	if !ok || !sameSignatureMinusFirst(ft, method.Type) {
		return reflect.Value{}, false
	}
	nilHandle := failure(ft, name, nvml.ERROR_INVALID_ARGUMENT)
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		if args[0].IsNil() || (args[0].Elem().Kind() == reflect.Pointer && args[0].Elem().IsNil()) {
			return nilHandle
		}
		m := args[0].MethodByName(methodName)
		if ft.IsVariadic() {
			return m.CallSlice(args[1:])
		}
		return m.Call(args[1:])
	}), true
}

func sameSignatureMinusFirst(lib, method reflect.Type) bool {
	if lib.NumIn() != method.NumIn()+1 || lib.NumOut() != method.NumOut() || lib.IsVariadic() != method.IsVariadic() {
		return false
	}
	for i := 0; i < method.NumIn(); i++ {
		if lib.In(i+1) != method.In(i) {
			return false
		}
	}
	for i := 0; i < method.NumOut(); i++ {
		if lib.Out(i) != method.Out(i) {
			return false
		}
	}
	return true
}
